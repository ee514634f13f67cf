"""``/api/v1/inventory``: inventory records as JSON."""
from core.api import ApiBlueprint
from core.records import add_record_api
from plugins.erp_inventory.records import PRODUCT

blp = ApiBlueprint("inventory", __name__)
add_record_api(blp, PRODUCT)
