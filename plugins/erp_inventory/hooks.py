"""How inventory plugs into the kernel."""
import random
from decimal import Decimal

from core import hookimpl
from core.contrib import MenuItem, Permission, Role


@hookimpl
def register_blueprints():
    from plugins.erp_inventory import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("inventory.product.read", "See products and prices"),
        Permission("inventory.product.write", "Create and edit products"),
    ]


@hookimpl
def register_roles():
    return [Role("Warehouse", "Runs stock and purchasing",
                 ("inventory.product.read", "inventory.product.write"))]


@hookimpl
def register_menu():
    return [MenuItem("Products", "erp_inventory.product_list", "inventory.product.read",
                     order=60, icon="products")]


@hookimpl
def search(query, limit):
    from core.records import search_records
    from plugins.erp_inventory.records import PRODUCT

    return search_records(PRODUCT, query, limit, "Product", lambda p: f"{p.sku} · {p.category or ''}")


CATEGORIES = {"Office": ["Desk", "Chair", "Lamp", "Shelf"],
              "Network": ["Switch", "Router", "Cable", "Access point"],
              "Storage": ["Box", "Crate", "Pallet", "Bin"]}


@hookimpl
def load_demo_data(progress):
    from plugins.erp_inventory import services

    rng = random.Random(5)
    n = 0
    for category, items in CATEGORIES.items():
        for item in items:
            for grade in ("Basic", "Pro"):
                n += 1
                cost = Decimal(rng.randint(500, 20000)) / 100
                services.create_product({
                    "sku": f"{category[:3].upper()}-{n:04d}", "name": f"{item} {grade}",
                    "category": category, "type": "stockable", "unit": "unit",
                    "cost": cost, "sale_price": (cost * Decimal("1.6")).quantize(Decimal("0.01"))})
                progress(1)
