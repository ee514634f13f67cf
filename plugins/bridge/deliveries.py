"""Inventory delivery events: the order's delivered quantities, the invoice on delivery,
and a note on the deal's timeline."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.states import lock
from plugins.bridge import deals, services
from plugins.bridge.models import SalesOrder


def delivery_done(event) -> None:
    """Record what a delivery of an order shipped; with "invoice on delivery", invoice it."""
    order = db.session.scalar(sa.select(SalesOrder).where(SalesOrder.number == (event.reference or "")))
    if order is None:
        return
    lock(order)  # two deliveries of one order done at once add up, one after the other
    shipped: dict[str, Decimal] = defaultdict(Decimal)
    for moved in event.lines:
        shipped[moved.sku] += moved.quantity
    quantities = {}
    first_delivery = all(line.delivered == 0 for line in order.lines)
    for line in order.lines:
        if line.product_ref and line.product_ref.upper() in shipped:
            take = min(shipped[line.product_ref.upper()], line.quantity - line.delivered)
            shipped[line.product_ref.upper()] -= take
            line.delivered += take
            quantities[line.id] = take
        elif first_delivery and deals._stock_product(line.product_ref) is None:
            quantities[line.id] = line.quantity - line.invoiced  # services go with the first delivery
    if all(line.delivered >= line.quantity for line in order.lines if deals._stock_product(line.product_ref)):
        order.state = "done"
    db.session.flush()
    services.note_on_deal(order.deal_id, f"Delivery {event.number} done"
                          + (" (backorder open)" if event.backorder_id else ""))
    if order.invoice_policy == "on_delivery" and order.customer_id and services.installed("erp_finance"):
        deals._step("invoice", deals.invoice_order, order, quantities, event.delivery_id)
