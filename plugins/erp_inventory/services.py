"""Inventory business operations; plugins that depend on inventory call these."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from core.records import ensure_unique
from plugins.erp_inventory.models import Product

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
