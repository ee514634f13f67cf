"""ERP finance: the ledger side (customers first; invoices, payments and reports follow)."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="erp_finance",
    version="0.1.0",
    summary="Customers, credit terms and the books",
    category="Accounting",
    short_name="finance",
)
