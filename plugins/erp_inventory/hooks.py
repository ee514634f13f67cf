"""How inventory plugs into the kernel."""
import sqlalchemy as sa

from core import hookimpl
from core.contrib import MenuItem, Permission, Role, Widget
from core.db import db

RECORDS = {"product": "products and prices", "warehouse": "warehouses", "location": "locations",
           "supplier": "suppliers", "supplier_price": "supplier prices", "reorder_rule": "reorder rules",
           "document": "receipts, deliveries, transfers and counts", "purchase_order": "purchase orders",
           "reservation": "reservations", "settings": "inventory settings"}
EXTRA = (Permission("inventory.document.validate", "Validate documents: move stock"),
         Permission("inventory.purchase_order.receive", "Receive goods of purchase orders"),
         Permission("inventory.stock.read", "See stock moves and the quantity check"),
         Permission("inventory.report.read", "See inventory reports"))


def _permissions() -> list[Permission]:
    found = []
    for record, what in RECORDS.items():
        found.append(Permission(f"inventory.{record}.read", f"See {what}"))
        found.append(Permission(f"inventory.{record}.write", f"Create and change {what}"))
    return found + list(EXTRA)


@hookimpl
def register_blueprints():
    from plugins.erp_inventory import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return _permissions()


@hookimpl
def register_roles():
    every = tuple(p.name for p in _permissions())
    readers = tuple(p for p in every if p.endswith(".read"))
    return [Role("Warehouse", "Runs stock and purchasing", every),
            Role("Inventory viewer", "Sees products, stock and reports", readers)]


@hookimpl
def register_menu():
    return [MenuItem("Products", "erp_inventory.product_list", "inventory.product.read", order=60, icon="products"),
            MenuItem("Stock", "erp_inventory.stock", "inventory.report.read", order=61, icon="stock"),
            MenuItem("Stock documents", "erp_inventory.document_list", "inventory.document.read",
                     order=62, icon="deliveries"),
            MenuItem("Purchasing", "erp_inventory.purchase_order_list", "inventory.purchase_order.read",
                     order=63, icon="purchases"),
            MenuItem("Inventory setup", "erp_inventory.setup", "inventory.warehouse.read",
                     order=64, icon="warehouse")]


@hookimpl
def register_cli_commands():
    from plugins.erp_inventory.cli import inventory_group

    return [inventory_group]


@hookimpl
def register_dashboard_widgets():
    return [Widget(name="inventory.below_reorder", title="Products below reorder point",
                   template="erp_inventory/widget_below.html", permission="inventory.report.read",
                   context=_below_reorder, order=60)]


def _below_reorder() -> dict:
    from plugins.erp_inventory.reports import below_minimum_query

    stmt = below_minimum_query()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    return {"rows": db.session.execute(stmt.limit(8)).mappings().all(), "count": count}


@hookimpl
def on_module_installed(event):
    if event.name == "erp_inventory":
        from plugins.erp_inventory import services

        services.ensure_virtual_locations()


@hookimpl
def search(query, limit):
    from core.records import search_records
    from plugins.erp_inventory.records import PRODUCT

    return search_records(PRODUCT, query, limit, "Product", lambda p: f"{p.sku} · {p.category or ''}")


@hookimpl
def load_demo_data(progress):
    from plugins.erp_inventory.demo import load

    load(progress)


@hookimpl
def register_scheduled_jobs():
    """Reorder rules checked every fifteen minutes in ``tandem worker``."""
    from core.contrib import ScheduledJob

    def replenish():
        from plugins.erp_inventory.services import replenish as propose

        return f"{len(propose())} purchase order proposals touched"

    return [ScheduledJob("inventory.replenish", 900, replenish)]
