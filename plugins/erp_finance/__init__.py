"""ERP finance: the ledger, customers and suppliers, invoices, payments, credit control, reports."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="erp_finance",
    version="0.3.0",
    summary="Customers, credit terms and the books: ledger, invoices, payments, reports",
    category="Accounting",
    short_name="finance",
)
