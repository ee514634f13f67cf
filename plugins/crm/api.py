"""``/api/v1/crm``: CRM records as JSON."""
from core.api import ApiBlueprint
from core.records import add_record_api
from plugins.crm.records import ACCOUNT

blp = ApiBlueprint("crm", __name__)
add_record_api(blp, ACCOUNT)
