"""The bridge: the only plugin that knows both CRM and the ERP side."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="bridge",
    version="0.2.0",
    summary="Links CRM to finance and inventory: one customer master, quote to cash",
    depends=("crm",),
    optional=("erp_finance", "erp_inventory"),
    auto_install=(frozenset({"crm", "erp_finance"}), frozenset({"crm", "erp_inventory"})),
    category="Integration",
)
