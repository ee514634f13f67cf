"""``/api/v1/finance``: finance records as JSON."""
from core.api import ApiBlueprint
from core.records import add_record_api
from plugins.erp_finance.records import CUSTOMER

blp = ApiBlueprint("finance", __name__)
add_record_api(blp, CUSTOMER)
