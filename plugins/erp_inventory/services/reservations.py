"""Reservations: stock of a warehouse held for a reference (an order, a delivery).

available = on hand - reserved. Reserving more than is available is refused (409
``insufficient_stock``) unless the "allow backorders" setting holds; then what is
available is reserved and the shortfall recorded as ``backorder_quantity``, filled
first when goods arrive.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound, RuleViolation, ValidationFailed
from plugins.erp_inventory.models import Reservation
from plugins.erp_inventory.services import stock
from plugins.erp_inventory.services.stock import qty


def _reservation(reference: str, product_id: int, warehouse_id: int) -> Reservation | None:
    return db.session.scalar(sa.select(Reservation).where(
        Reservation.reference == reference, Reservation.product_id == product_id,
        Reservation.warehouse_id == warehouse_id).execution_options(populate_existing=True))


def reservation_for(reference: str, product_id: int, warehouse_id: int) -> Reservation | None:
    """The active reservation of a reference for a product in a warehouse, if any."""
    found = _reservation(reference, product_id, warehouse_id)
    return found if found is not None and found.state == "active" else None


def active_reservations(reference_prefix: str = "") -> list[Reservation]:
    """Reservations still held, whose reference starts with ``reference_prefix``."""
    return db.session.scalars(sa.select(Reservation).where(
        Reservation.state == "active", Reservation.reference.like(f"{reference_prefix}%"))
        .order_by(Reservation.id)).all()


def reserve_stock(reference: str, product_id: int, quantity, warehouse_id: int | None = None) -> Reservation:
    """Hold ``quantity`` of a product in a warehouse (default: the first) for ``reference``.

    Adds to what the reference already holds. Refused with 409 ``insufficient_stock``
    when not enough is available, unless backorders are allowed (then the shortfall is
    recorded as a backorder). Locks the product first, so concurrent reservations of
    the last units never both succeed.
    """
    quantity = qty(quantity)
    if quantity <= 0:
        raise ValidationFailed({"quantity": ["Must be greater than 0."]})
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed({"reference": ["A reservation needs a reference (an order, a delivery)."]})
    product = stock.lock_product(product_id)
    if product.type == "service":
        raise RuleViolation(f"{product.sku} is a service: it has no stock to reserve.", code="not_stockable")
    warehouse = stock.get_warehouse(warehouse_id)
    free = stock.available(product.id, warehouse.id)
    take, short = quantity, Decimal("0")
    if quantity > free and product.type == "stockable":
        if not stock.get_settings().allow_backorders:
            raise RuleViolation(
                f"Only {max(free, Decimal(0))} of {product.sku} available in {warehouse.code}: "
                f"cannot reserve {quantity}.", code="insufficient_stock",
                details={"product_id": product.id, "warehouse_id": warehouse.id,
                         "available": str(free), "requested": str(quantity)})
        take = max(free, Decimal("0"))
        short = quantity - take
    found = _reservation(reference, product.id, warehouse.id)
    if found is None:
        found = Reservation(reference=reference, product_id=product.id, warehouse_id=warehouse.id,
                            quantity=Decimal("0"), backorder_quantity=Decimal("0"))
        db.session.add(found)
    elif found.state != "active":
        found.quantity, found.backorder_quantity = Decimal("0"), Decimal("0")
    found.state = "active"
    found.quantity = qty(found.quantity) + take
    found.backorder_quantity = qty(found.backorder_quantity) + short
    db.session.flush()
    from plugins.erp_inventory.services.purchasing import check_reorder

    check_reorder(product.id, warehouse.id)
    return found


def release_reservation(reference: str, product_id: int | None = None, quantity=None,
                        warehouse_id: int | None = None) -> list[Reservation]:
    """Give back what ``reference`` holds: all of it, or ``quantity`` of one product.

    The backordered part is given up first, then the reserved part. Returns the
    reservations changed; 404 when the reference holds nothing.
    """
    stmt = sa.select(Reservation).where(Reservation.reference == reference, Reservation.state == "active")
    if product_id is not None:
        stmt = stmt.where(Reservation.product_id == product_id)
    if warehouse_id is not None:
        stmt = stmt.where(Reservation.warehouse_id == warehouse_id)
    found = db.session.scalars(stmt.order_by(Reservation.id)).all()
    if not found:
        raise NotFound(f"No active reservation for {reference}")
    if quantity is not None and product_id is None:
        raise ValidationFailed({"product_id": ["Say which product to release a quantity of."]})
    stock.lock_products(r.product_id for r in found)
    for reservation in found:
        db.session.refresh(reservation)
        _give_back(reservation, None if quantity is None else qty(quantity))
    db.session.flush()
    return found


def _give_back(reservation: Reservation, quantity: Decimal | None, state: str = "released") -> None:
    if quantity is None:
        reservation.quantity = reservation.backorder_quantity = Decimal("0")
    else:
        from_backorder = min(quantity, qty(reservation.backorder_quantity))
        reservation.backorder_quantity = qty(reservation.backorder_quantity) - from_backorder
        reservation.quantity = max(qty(reservation.quantity) - (quantity - from_backorder), Decimal("0"))
    if reservation.quantity == 0 and reservation.backorder_quantity == 0:
        reservation.state = state


def consume(reference: str, product_id: int, warehouse_id: int, quantity: Decimal) -> Decimal:
    """Use up to ``quantity`` of a reservation for goods being delivered; returns how much.

    The rest stays reserved for the reference's next delivery (a backorder); cancelling
    that delivery gives it back. The caller holds the product's lock.
    """
    reservation = reservation_for(reference, product_id, warehouse_id)
    if reservation is None:
        return Decimal("0")
    used = min(qty(quantity), qty(reservation.quantity))
    reservation.quantity = qty(reservation.quantity) - used
    if reservation.quantity == 0 and reservation.backorder_quantity == 0:
        reservation.state = "delivered"
    db.session.flush()
    return used


def fill_backorders(product_id: int, warehouse_id: int) -> None:
    """Turn backordered quantities into reserved ones, oldest first, as far as stock allows."""
    free = stock.available(product_id, warehouse_id)
    if free <= 0:
        return
    waiting = db.session.scalars(sa.select(Reservation).where(
        Reservation.product_id == product_id, Reservation.warehouse_id == warehouse_id,
        Reservation.state == "active", Reservation.backorder_quantity > 0).order_by(Reservation.id)).all()
    for reservation in waiting:
        take = min(free, qty(reservation.backorder_quantity))
        reservation.backorder_quantity = qty(reservation.backorder_quantity) - take
        reservation.quantity = qty(reservation.quantity) + take
        free -= take
        if free <= 0:
            break
    db.session.flush()


def fit_reservations(product_id: int, warehouse_id: int) -> None:
    """After stock was lost (a count found less), turn reservations above on hand into backorders.

    The newest reservations give way first; reserved never exceeds on hand.
    """
    excess = stock.reserved(product_id, warehouse_id) - max(stock.on_hand(product_id, warehouse_id), Decimal("0"))
    if excess <= 0:
        return
    newest = db.session.scalars(sa.select(Reservation).where(
        Reservation.product_id == product_id, Reservation.warehouse_id == warehouse_id,
        Reservation.state == "active", Reservation.quantity > 0).order_by(Reservation.id.desc())).all()
    for reservation in newest:
        shift = min(excess, qty(reservation.quantity))
        reservation.quantity = qty(reservation.quantity) - shift
        reservation.backorder_quantity = qty(reservation.backorder_quantity) + shift
        excess -= shift
        if excess <= 0:
            break
    db.session.flush()
