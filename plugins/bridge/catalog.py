"""CRM's catalogue questions, answered from inventory (the product master)."""
from __future__ import annotations

from decimal import Decimal

from plugins.bridge import services
from plugins.crm.hookspecs import Availability, CatalogProduct


def products(query: str, limit: int) -> list[CatalogProduct]:
    """Active inventory products matching ``query``; the reference is the SKU."""
    if not services.installed("erp_inventory"):
        return []
    from plugins.erp_inventory import services as inventory

    currency = inventory.get_settings().currency
    return [CatalogProduct(ref=p.sku, name=p.name, unit_price=p.sale_price, currency=currency)
            for p in inventory.search_catalog(query, limit)]


def availability(refs: list[str]) -> dict[str, Availability] | None:
    """Available quantity of each SKU in ``refs`` (unknown SKUs are left out)."""
    if not services.installed("erp_inventory"):
        return None
    from plugins.erp_inventory import services as inventory

    found = {}
    for ref in refs:
        product = inventory.product_by_sku(ref) if ref else None
        if product is None:
            continue
        if product.type == "service":
            found[ref] = Availability(ref=ref, available=Decimal("0"), note="service")
            continue
        stock = inventory.availability(product.id)
        found[ref] = Availability(ref=ref, available=stock.available,
                                  note=f"{stock.incoming} incoming" if stock.incoming else "")
    return found
