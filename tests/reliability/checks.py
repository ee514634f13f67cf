"""What the reliability tests look at after the fact: row counts, bridge drift, the ledger's
hash chains and what became of each deal.

Each check takes the app and reads in a fresh app context; with ``app=None`` it reads in
the current one (a property machine whose work is not committed).
"""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from core.db import db


@contextmanager
def _reading(app):
    if app is None:
        yield
        return
    with app.app_context():
        try:
            yield
        finally:
            db.session.rollback()


def row_counts(app) -> dict[str, int]:
    """Rows of every table: equal before and after means a request left no trace."""
    with _reading(app):
        names = sa.inspect(db.engine).get_table_names()
        return {n: db.session.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}


def drift(app) -> list[dict]:
    """What ``tandem bridge reconcile`` reports (nothing is repaired)."""
    from plugins.bridge.reconcile import reconcile

    with _reading(app):
        return reconcile(fix=False)


def broken_chains(app) -> list:
    """Journals whose hash chain does not verify (``tandem finance verify-ledger``)."""
    from plugins.erp_finance.ledger import verify_ledger

    with _reading(app):
        return [c for c in verify_ledger() if not c.ok]


def deal_outcomes(app, deal_ids) -> dict[int, str]:
    """Per deal: "won" (order, reservation, posted invoice), "open" (none of them), or
    what a half-done win left behind."""
    from plugins.bridge.models import OrderInvoice, SalesOrder
    from plugins.crm.models import Deal
    from plugins.erp_inventory.models import Reservation

    outcomes = {}
    with _reading(app):
        for deal_id in deal_ids:
            deal = db.session.get(Deal, deal_id)
            order = db.session.scalar(sa.select(SalesOrder).where(SalesOrder.deal_id == deal_id))
            held = db.session.scalar(sa.select(sa.func.count()).select_from(Reservation).where(
                Reservation.reference == order.number)) if order else 0
            invoiced = db.session.scalar(sa.select(sa.func.count()).select_from(OrderInvoice).where(
                OrderInvoice.order_id == order.id, OrderInvoice.state != "draft")) if order else 0
            parts = (deal.stage.is_won, order is not None, held > 0, invoiced > 0)
            outcomes[deal_id] = "won" if all(parts) else "open" if not any(parts) else \
                f"half done (won {parts[0]}, order {parts[1]}, reservations {held}, invoices {invoiced})"
    return outcomes


def orphans(app) -> list[str]:
    """Reservations and customer invoices made for an order that does not exist."""
    from plugins.bridge.models import OrderInvoice, SalesOrder
    from plugins.erp_finance.models import Invoice
    from plugins.erp_inventory.models import Reservation

    with _reading(app):
        reservations = db.session.scalars(sa.select(Reservation.reference).where(
            Reservation.reference.like("SO-%"),
            ~sa.exists().where(SalesOrder.number == Reservation.reference))).all()
        invoices = db.session.scalars(sa.select(Invoice.reference).where(
            Invoice.kind == "out_invoice", Invoice.reference.like("SO-%"),
            ~sa.exists().where(OrderInvoice.invoice_id == Invoice.id))).all()
    return [f"reservation for {r}" for r in reservations] + [f"invoice for {r}" for r in invoices]
