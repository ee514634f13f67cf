"""CRM: the conversation with customers (accounts first; contacts, leads and deals follow)."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="crm",
    version="0.3.0",
    summary="Accounts and the relationship with them",
    category="Sales",
)
