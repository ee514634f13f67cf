"""Finance invoice events, fed back to CRM as notes on the deal's timeline."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from plugins.bridge.models import OrderInvoice, SalesOrder
from plugins.bridge.services import finance, note_on_deal


def record_of(invoice_id: int) -> OrderInvoice | None:
    """The bridge's record of a finance invoice made for an order."""
    return db.session.scalar(sa.select(OrderInvoice).where(OrderInvoice.invoice_id == invoice_id))


def _note(record: OrderInvoice, subject: str) -> None:
    order = db.session.get(SalesOrder, record.order_id)
    note_on_deal(order.deal_id, subject)
    record.reflected = True


def invoice_posted(event) -> None:
    """"Invoice INV/2026/00007 posted: 1,200.00 EUR due 2026-12-23"."""
    record = record_of(event.invoice_id)
    if record is None:
        return
    record.number, record.state, record.amount = event.number, "posted", event.amount_total
    _note(record, f"Invoice {event.number} posted: {event.amount_total} {event.currency} due {event.due_date}")


def payment_received(event) -> None:
    """A payment settling invoices of orders: one note per invoice it touched."""
    for invoice_id, amount in event.allocations:
        record = record_of(invoice_id)
        if record is None:
            continue
        if record.state == "posted":
            record.state = "partially_paid"
        _note(record, f"Payment {event.number}: {amount} {event.currency} received on invoice {record.number}")


def invoice_paid(event) -> None:
    """"Invoice INV/2026/00007 paid in full"."""
    record = record_of(event.invoice_id)
    if record is None:
        return
    record.state = "paid"
    _note(record, f"Invoice {event.number} paid in full")


def credit_note_issued(event) -> None:
    """A credit note correcting an order's invoice."""
    record = record_of(event.invoice_id) if event.invoice_id else None
    if record is None:
        return
    # the credit settles part (or all) of the invoice: CRM shows the state finance now has
    record.state = finance().invoice_states([record.invoice_id]).get(record.invoice_id, record.state)
    _note(record, f"Credit note {event.number} of {event.amount_total} {event.currency} "
                  f"issued on invoice {record.number}")
