"""Reconciliation: does every won deal have its order and invoices, is every invoice
reflected in CRM, is the customer master one-to-one, does every reservation belong to an
open order? Each drift has a reason; ``fix=True`` repairs the safe ones."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from plugins.bridge import deals, services
from plugins.bridge.models import AccountLink, Contract, OrderInvoice, SalesOrder
from plugins.crm.models import Deal, Stage


def _drift(kind: str, reason: str, ref: str, fixable: bool) -> dict:
    return {"kind": kind, "reason": reason, "ref": ref, "fixable": fixable, "fixed": False}


def reconcile(fix: bool = False) -> list[dict]:
    """Every drift found (and, with ``fix``, repaired where safe)."""
    found = _orders(fix) + _invoices(fix) + _reflected(fix) + _links() + _reservations(fix)
    db.session.flush()
    return found


def _orders(fix: bool) -> list[dict]:
    found = []
    won = sa.select(Deal.id, Deal.title).join(Stage, Stage.id == Deal.stage_id).where(Stage.is_won.is_(True))
    missing = db.session.execute(won.where(~sa.exists().where(SalesOrder.deal_id == Deal.id))
                                 .order_by(Deal.id)).all()
    for deal_id, title in missing:
        drift = _drift("missing_order", f"won deal “{title}” has no order", f"deal:{deal_id}", True)
        if fix:
            deals.create_order(deal_id)
            drift["fixed"] = True
        found.append(drift)
    stray = db.session.execute(sa.select(SalesOrder.number, Deal.id).join(Deal, Deal.id == SalesOrder.deal_id)
                               .join(Stage, Stage.id == Deal.stage_id).where(Stage.is_won.is_(False))).all()
    found += [_drift("order_without_won_deal", f"order {n} belongs to deal {d}, which is not won",
                     n, False) for n, d in stray]
    return found


def _invoices(fix: bool) -> list[dict]:
    """Orders invoiced on order (finance on, a customer, something to bill, no contract)
    must have an invoice for everything."""
    if not services.installed("erp_finance"):
        return []
    found = []
    orders = db.session.scalars(sa.select(SalesOrder).where(
        SalesOrder.invoice_policy == "on_order", SalesOrder.customer_id.is_not(None), SalesOrder.amount > 0,
        ~sa.exists().where(Contract.deal_id == SalesOrder.deal_id)).order_by(SalesOrder.id)).all()
    for order in orders:
        if all(line.invoiced >= line.quantity for line in order.lines):
            continue
        drift = _drift("missing_invoice", f"order {order.number} is to be invoiced on order "
                                          f"but is not fully invoiced", order.number, True)
        if fix:
            deals.invoice_order(order, None, None)
            drift["fixed"] = True
        found.append(drift)
    return found


def _reflected(fix: bool) -> list[dict]:
    """Invoices of orders CRM was not told about, or whose state CRM has not heard of yet."""
    found = []
    records = db.session.scalars(sa.select(OrderInvoice).where(
        OrderInvoice.state.in_(("posted", "partially paid", "paid")))).all()
    actual = services.finance().invoice_states(r.invoice_id for r in records) \
        if records and services.installed("erp_finance") else {}
    for record in records:
        state = actual.get(record.invoice_id, record.state)
        if record.reflected and state == record.state:
            continue
        reason = (f"invoice {record.number} is {state} but not on its deal's timeline" if not record.reflected
                  else f"invoice {record.number} is {state} in finance, {record.state} in CRM")
        drift = _drift("not_in_crm", reason, record.number or str(record.invoice_id), True)
        if fix:
            order = db.session.get(SalesOrder, record.order_id)
            services.note_on_deal(order.deal_id, f"Invoice {record.number} {state}")
            record.state, record.reflected = state, True
            drift["fixed"] = True
        found.append(drift)
    return found


def _links() -> list[dict]:
    found = []
    for column, other, label in ((AccountLink.account_id, "customers", "account"),
                                 (AccountLink.customer_id, "accounts", "customer")):
        rows = db.session.execute(sa.select(column, sa.func.count()).group_by(column)
                                  .having(sa.func.count() > 1)).all()
        found += [_drift("duplicate_link", f"{label} {key} is linked to {n} {other}", f"{label}:{key}", False)
                  for key, n in rows]
    return found


def _reservations(fix: bool) -> list[dict]:
    """Active reservations under an order number whose order is not open (or does not exist)."""
    if not services.installed("erp_inventory"):
        return []
    from plugins.erp_inventory import services as inventory

    held = inventory.active_reservations("SO-")
    states = dict(db.session.execute(sa.select(SalesOrder.number, SalesOrder.state).where(
        SalesOrder.number.in_({r.reference for r in held}))).all())
    rows = [(r.reference, r.product_id, states.get(r.reference)) for r in held
            if states.get(r.reference) != "open"]
    found = []
    for reference, product_id, state in rows:
        drift = _drift("stray_reservation", f"reservation of product {product_id} for {reference}: "
                                            f"{'no such order' if state is None else 'order is ' + state}",
                       reference, True)
        if fix:
            inventory.release_reservation(reference, product_id)
            drift["fixed"] = True
        found.append(drift)
    return found
