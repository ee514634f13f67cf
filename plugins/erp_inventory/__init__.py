"""ERP inventory: the stock side (the product master first; stock and purchasing follow)."""
from core.manifest import Manifest

MANIFEST = Manifest(
    name="erp_inventory",
    version="0.2.0",
    summary="Product master, stock and purchasing",
    category="Operations",
    short_name="inventory",
)
