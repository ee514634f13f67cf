"""Inventory records."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Money, Timestamped, db

PRODUCT_TYPES = ("stockable", "consumable", "service")
UNITS = ("unit", "kg", "g", "l", "m", "box", "hour")


class Product(Timestamped, db.Model):
    """An item the business sells or buys; the catalogue other plugins read."""

    __tablename__ = "inventory_product"
    __table_args__ = (sa.CheckConstraint("sale_price >= 0", name="sale_price_positive"),
                      sa.CheckConstraint("cost >= 0", name="cost_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    unit: Mapped[str] = mapped_column(sa.String(16), default="unit")
    type: Mapped[str] = mapped_column(sa.String(16), default="stockable")
    sale_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    barcode: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
