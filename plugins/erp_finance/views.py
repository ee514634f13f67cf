"""Finance pages."""
from flask import Blueprint

from core.records import add_record_pages
from plugins.erp_finance.records import CUSTOMER

bp = Blueprint("erp_finance", __name__, url_prefix="/finance", template_folder="templates")
add_record_pages(bp, CUSTOMER)
