"""CRM pages."""
from flask import Blueprint

from core.records import add_record_pages
from plugins.crm.records import ACCOUNT

bp = Blueprint("crm", __name__, url_prefix="/crm", template_folder="templates")
add_record_pages(bp, ACCOUNT)
