"""Inventory pages."""
from flask import Blueprint

from core.records import add_record_pages
from plugins.erp_inventory.records import PRODUCT

bp = Blueprint("erp_inventory", __name__, url_prefix="/inventory", template_folder="templates")
add_record_pages(bp, PRODUCT)
