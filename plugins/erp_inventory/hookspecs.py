"""Events inventory emits. Other plugins implement them; inventory never knows who listens.

Every event is emitted through ``core.events.emit`` with an idempotency key, inside the
transaction of the action that caused it: a handler that raises refuses that action
(the user sees the handler's reason) and everything the action wrote is rolled back.
Implementations return nothing; all of them are called.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core import hookspec


@dataclass(frozen=True)
class MovedLine:
    """One product of a delivery or receipt: how much was moved, at what unit cost."""

    product_id: int
    sku: str
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True)
class DeliveryDone:
    """A delivery was validated: its goods left the warehouse for the customer.

    ``reference`` is what the delivery was made for (an order number);
    ``backorder_id`` is the delivery created for what was not shipped, if any.
    """

    delivery_id: int
    number: str
    reference: str | None
    warehouse_id: int
    lines: tuple[MovedLine, ...]
    backorder_id: int | None


@dataclass(frozen=True)
class GoodsReceived:
    """A receipt was validated: goods entered a warehouse (from a purchase order or not)."""

    receipt_id: int
    number: str
    reference: str | None
    warehouse_id: int
    purchase_order_id: int | None
    lines: tuple[MovedLine, ...]


@dataclass(frozen=True)
class StockLow:
    """A product's available quantity in a warehouse fell below its reorder minimum.

    ``purchase_order_id`` is the draft purchase order proposal created or extended for
    the preferred supplier (None when the product has no supplier).
    """

    product_id: int
    sku: str
    warehouse_id: int
    available: Decimal
    minimum: Decimal
    maximum: Decimal
    purchase_order_id: int | None


@hookspec
def on_delivery_done(event: DeliveryDone) -> None:
    """A delivery was validated and its stock moves are done.

    Called inside the transaction that validated the delivery, after its moves and its
    backorder (if any) are flushed. ``event`` is a ``DeliveryDone``. Emitted once per
    delivery (key ``inventory:delivery:<id>:done``). Return nothing; every
    implementation is called; raising refuses the validation.
    """


@hookspec
def on_goods_received(event: GoodsReceived) -> None:
    """A receipt was validated: goods are on hand and the moving-average costs updated.

    Called inside the transaction that validated the receipt (receiving a purchase
    order validates its receipt in the same transaction). ``event`` is a
    ``GoodsReceived``. Emitted once per receipt (key ``inventory:receipt:<id>:done``).
    Return nothing; every implementation is called; raising refuses the receipt.
    """


@hookspec
def on_stock_low(event: StockLow) -> None:
    """A product's available quantity in a warehouse fell below its reorder rule's minimum.

    Called inside the transaction of the action that lowered it (a reservation, a
    delivery, a transfer, an adjustment) or of ``tandem inventory replenish``, after the
    purchase order proposal was created or extended. ``event`` is a ``StockLow``.
    Emitted once each time the quantity crosses the minimum downwards (key
    ``inventory:stock_low:<rule id>:<n>``). Return nothing; every implementation is called.
    """
