"""Loyalty: points for CRM accounts whose invoices are paid (a third-party Tandem plugin)."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="loyalty",
    version="0.1.0",
    summary="Loyalty points for CRM accounts whose invoices are paid",
    # finance emits on_invoice_paid; the bridge knows which CRM account a finance
    # customer is; CRM shows the points on the account page.
    depends=("crm", "erp_finance", "bridge"),
    category="Sales",
)
