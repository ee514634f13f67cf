"""Inventory records: the product master, where stock is, how it moves, and purchasing.

Quantities change only through ``StockMove`` rows (the ledger, never edited); ``Quant``
caches on-hand per product and location and ``tandem inventory check`` proves it equal
to the moves. Reservations hold stock for a reference (an order, a delivery).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Money, Quantity, Timestamped, db, utcnow

PRODUCT_TYPES = ("stockable", "consumable", "service")
UNITS = ("unit", "kg", "g", "l", "m", "box", "hour")
LOCATION_KINDS = ("internal", "supplier", "customer", "adjustment")
VIRTUAL_KINDS = ("supplier", "customer", "adjustment")
DOCUMENT_KINDS = ("receipt", "delivery", "internal", "adjustment")
DOCUMENT_STATES = ("draft", "ready", "done", "cancelled")
RESERVATION_STATES = ("active", "released", "delivered")
PO_STATES = ("draft", "confirmed", "partially_received", "received", "cancelled")
OPEN_PO_STATES = ("confirmed", "partially_received")
#: Unit cost kept with more places than money so the moving average does not drift.
UnitCost = sa.Numeric(18, 4, asdecimal=True)


class Product(Timestamped, db.Model):
    """An item the business sells or buys; the catalogue other plugins read.

    ``cost`` is the moving-average cost, updated by every receipt.
    """

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


class Settings(db.Model):
    """The inventory settings: one row (id 1)."""

    __tablename__ = "inventory_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    allow_backorders: Mapped[bool] = mapped_column(default=False)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")


class Warehouse(Timestamped, db.Model):
    """A site that holds stock in its internal locations."""

    __tablename__ = "inventory_warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str | None] = mapped_column(sa.Text)
    allow_negative_stock: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Location(Timestamped, db.Model):
    """Where stock is: a shelf of a warehouse (internal) or a virtual place
    (suppliers, customers, inventory adjustments) that moves come from or go to."""

    __tablename__ = "inventory_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="internal", index=True)
    warehouse_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_warehouse.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    warehouse: Mapped[Warehouse | None] = relationship(Warehouse, foreign_keys=[warehouse_id])

    @property
    def is_internal(self) -> bool:
        return self.kind == "internal"


class Quant(db.Model):
    """Cached on-hand quantity of a product in a location (the sum of its done moves)."""

    __tablename__ = "inventory_quant"
    __table_args__ = (sa.UniqueConstraint("product_id", "location_id", name="product_location"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_location.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))


class StockDocument(Timestamped, db.Model):
    """A receipt, delivery, internal transfer or inventory adjustment, with its lines."""

    __tablename__ = "inventory_document"
    __state__ = "state"
    __state_columns__ = ("state", "done_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)
    reference: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"), index=True)
    source_location_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_location.id"))
    destination_location_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_location.id"))
    scheduled_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    done_at: Mapped[dt.datetime | None] = mapped_column()
    backorder_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_document.id"))
    purchase_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_purchase_order.id"), index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)

    warehouse: Mapped[Warehouse] = relationship(Warehouse)
    source_location: Mapped[Location] = relationship(Location, foreign_keys=[source_location_id])
    destination_location: Mapped[Location] = relationship(Location, foreign_keys=[destination_location_id])
    lines: Mapped[list["DocumentLine"]] = relationship(
        f"{__name__}.DocumentLine", back_populates="document", order_by=lambda: DocumentLine.id,
        cascade="all, delete-orphan")


class DocumentLine(db.Model):
    """One product of a document: the quantity asked for and, once done, the quantity moved.

    On an inventory adjustment ``quantity`` is the counted quantity.
    """

    __tablename__ = "inventory_document_line"
    __table_args__ = (sa.CheckConstraint("quantity >= 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_document.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    done_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    unit_cost: Mapped[Decimal | None] = mapped_column(UnitCost)
    purchase_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_purchase_line.id"))

    document: Mapped[StockDocument] = relationship(StockDocument, back_populates="lines")
    product: Mapped[Product] = relationship(Product)


class StockMove(db.Model):
    """Quantity of a product moved from one location to another: the stock ledger."""

    __tablename__ = "inventory_move"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),
                      sa.CheckConstraint("source_location_id <> destination_location_id",
                                         name="two_locations"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    source_location_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_location.id"), index=True)
    destination_location_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_location.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal] = mapped_column(UnitCost, default=Decimal("0"))
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_document.id"), index=True)
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    done_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    product: Mapped[Product] = relationship(Product)
    source_location: Mapped[Location] = relationship(Location, foreign_keys=[source_location_id])
    destination_location: Mapped[Location] = relationship(Location, foreign_keys=[destination_location_id])


class Reservation(Timestamped, db.Model):
    """Stock of a warehouse held for a reference; ``backorder_quantity`` is what could not be."""

    __tablename__ = "inventory_reservation"
    __table_args__ = (sa.UniqueConstraint("reference", "product_id", "warehouse_id", name="reference_product"),
                      sa.CheckConstraint("quantity >= 0", name="quantity_positive"),
                      sa.CheckConstraint("backorder_quantity >= 0", name="backorder_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(100), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    backorder_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    state: Mapped[str] = mapped_column(sa.String(16), default="active", index=True)

    product: Mapped[Product] = relationship(Product)
    warehouse: Mapped[Warehouse] = relationship(Warehouse)


class Supplier(Timestamped, db.Model):
    """A business the distributor buys from."""

    __tablename__ = "inventory_supplier"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    lead_time_days: Mapped[int] = mapped_column(default=7)
    active: Mapped[bool] = mapped_column(default=True)


class SupplierPrice(Timestamped, db.Model):
    """What a supplier charges for a product, from which quantity, delivered how fast."""

    __tablename__ = "inventory_supplier_price"
    __table_args__ = (sa.UniqueConstraint("supplier_id", "product_id", name="supplier_product"),
                      sa.CheckConstraint("price >= 0", name="price_positive"),
                      sa.CheckConstraint("min_quantity >= 0", name="min_quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_supplier.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    min_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("1"))
    lead_time_days: Mapped[int] = mapped_column(default=7)
    preferred: Mapped[bool] = mapped_column(default=False)

    supplier: Mapped[Supplier] = relationship(Supplier)
    product: Mapped[Product] = relationship(Product)


class ReorderRule(Timestamped, db.Model):
    """Keep a product's available quantity in a warehouse between a minimum and a maximum."""

    __tablename__ = "inventory_reorder_rule"
    __table_args__ = (sa.UniqueConstraint("product_id", "warehouse_id", name="product_warehouse"),
                      sa.CheckConstraint("minimum >= 0", name="minimum_positive"),
                      sa.CheckConstraint("maximum >= minimum", name="maximum_above_minimum"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"), index=True)
    minimum: Mapped[Decimal] = mapped_column(Quantity)
    maximum: Mapped[Decimal] = mapped_column(Quantity)
    alerts: Mapped[int] = mapped_column(default=0)  # times on_stock_low was emitted
    below: Mapped[bool] = mapped_column(default=False)  # below the minimum since the last alert

    product: Mapped[Product] = relationship(Product)
    warehouse: Mapped[Warehouse] = relationship(Warehouse)


class PurchaseOrder(Timestamped, db.Model):
    """Goods ordered from a supplier for a warehouse."""

    __tablename__ = "inventory_purchase_order"
    __state__ = "state"
    __state_columns__ = ("state", "confirmed_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_supplier.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    expected_date: Mapped[dt.date | None] = mapped_column(sa.Date, index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()

    supplier: Mapped[Supplier] = relationship(Supplier)
    warehouse: Mapped[Warehouse] = relationship(Warehouse)
    lines: Mapped[list["PurchaseLine"]] = relationship(
        f"{__name__}.PurchaseLine", back_populates="order", order_by=lambda: PurchaseLine.id,
        cascade="all, delete-orphan")

    @property
    def total(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))


class PurchaseLine(db.Model):
    """One product of a purchase order and how much of it arrived."""

    __tablename__ = "inventory_purchase_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),
                      sa.CheckConstraint("unit_price >= 0", name="unit_price_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_purchase_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    received_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    unit_price: Mapped[Decimal] = mapped_column(Money)

    order: Mapped[PurchaseOrder] = relationship(PurchaseOrder, back_populates="lines")
    product: Mapped[Product] = relationship(Product)

    @property
    def remaining(self) -> Decimal:
        return max(self.quantity - self.received_quantity, Decimal("0"))

    @property
    def subtotal(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))
