"""The product master and what other plugins read of it: catalogue and availability."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound
from core.records import ensure_unique
from plugins.erp_inventory.models import Product
from plugins.erp_inventory.services.stock import qty

FIELDS = ("sku", "name", "description", "category", "unit", "type", "sale_price", "cost",
          "barcode", "active")


def _check_sku(sku: str, exclude_id: int | None = None) -> None:
    ensure_unique(Product.sku, sku, exclude_id, "sku", f"SKU {sku} is already used by product {{id}}.")


def create_product(data: dict) -> Product:
    """Create a product; its SKU must be unique."""
    data = {k: v for k, v in data.items() if k in FIELDS}
    data["sku"] = data["sku"].strip().upper()
    _check_sku(data["sku"])
    product = Product(**data)
    db.session.add(product)
    db.session.flush()
    return product


def update_product(product: Product, data: dict) -> Product:
    """Change a product's fields (the SKU stays unique)."""
    data = {k: v for k, v in data.items() if k in FIELDS}
    if "sku" in data:
        data["sku"] = data["sku"].strip().upper()
        _check_sku(data["sku"], product.id)
    for key, value in data.items():
        setattr(product, key, value)
    db.session.flush()
    return product


def search_catalog(query: str, limit: int = 20) -> list[Product]:
    """Active products whose name or SKU contains ``query``, with their prices."""
    like = f"%{query}%"
    return db.session.scalars(sa.select(Product).where(
        Product.active.is_(True), sa.or_(Product.name.ilike(like), Product.sku.ilike(like)))
        .order_by(Product.name).limit(limit)).all()


def product_by_sku(sku: str) -> Product | None:
    """The product with this SKU (case-insensitive), or None."""
    return db.session.scalar(sa.select(Product).where(Product.sku == sku.strip().upper()))


@dataclass(frozen=True)
class WarehouseAvailability:
    """Quantities of one product in one warehouse."""

    warehouse_id: int
    warehouse_code: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    incoming: Decimal


@dataclass(frozen=True)
class Availability:
    """Quantities of one product: totals and per warehouse (available = on hand - reserved)."""

    product_id: int
    sku: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    incoming: Decimal
    warehouses: tuple[WarehouseAvailability, ...]


@functools.cache
def _availability_query():
    """The stock levels report for one product (a bound ``product_id``) in every active
    warehouse. Built once: building its three grouped subqueries took longer than
    running it, and a won deal asks for availability once per line, twice."""
    from plugins.erp_inventory.reports import stock_levels_query

    return stock_levels_query(product_id=sa.bindparam("product_id"), all_warehouses=True)


def availability(product_id: int, warehouse_id: int | None = None) -> Availability:
    """On hand, reserved, available and incoming of a product, per warehouse and in total.

    Aggregated in SQL (one grouped query); warehouses without stock show zeros.
    """
    from plugins.erp_inventory.models import Warehouse

    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} not found")
    stmt = _availability_query()
    if warehouse_id is not None:
        stmt = stmt.where(Warehouse.id == warehouse_id)
    rows = db.session.execute(stmt, {"product_id": product_id}).mappings().all()
    per = tuple(WarehouseAvailability(r["warehouse_id"], r["warehouse_code"], qty(r["on_hand"]),
                                      qty(r["reserved"]), qty(r["on_hand"]) - qty(r["reserved"]),
                                      qty(r["incoming"])) for r in rows)
    total = lambda attr: sum((getattr(w, attr) for w in per), Decimal("0.000"))  # noqa: E731
    return Availability(product.id, product.sku, total("on_hand"), total("reserved"), total("available"),
                        total("incoming"), per)
