"""Reconciliation: does every won deal have its order and invoices, is every invoice
reflected in CRM, is the customer master one-to-one, does every reservation belong to an
open order, was no order line delivered or invoiced beyond what was ordered or than its
deliveries moved, and do deals' statuses agree with their dates? Each drift has a reason;
``fix=True`` repairs the safe ones."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from plugins.bridge import deals, services
from plugins.bridge.models import AccountLink, Contract, OrderInvoice, SalesOrder, SalesOrderLine
from plugins.crm.models import Deal, Stage

#: Invoice states in which an invoice counts (posted in the ledger).
POSTED = ("posted", "partially_paid", "paid")
THOUSANDTH = Decimal("0.001")  # quantities are stored with three places


def _drift(kind: str, reason: str, ref: str, fixable: bool) -> dict:
    """One drift: its kind, why, the record it is about, whether ``fix`` may repair it."""
    return {"kind": kind, "reason": reason, "ref": ref, "fixable": fixable, "fixed": False}


def reconcile(fix: bool = False) -> list[dict]:
    """Every drift found (and, with ``fix``, repaired where safe)."""
    found = (_orders(fix) + _invoices(fix) + _reflected(fix) + _links() + _reservations(fix)
             + _quantities() + _deliveries() + _deal_dates())
    db.session.flush()
    return found


def _orders(fix: bool) -> list[dict]:
    """Won deals without their order (repaired by making it), and orders of deals that are
    not won, with the order's state and its posted invoices in the reason."""
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
    stray = db.session.execute(sa.select(SalesOrder.id, SalesOrder.number, SalesOrder.state, Deal.id, Stage.is_lost)
                               .join(Deal, Deal.id == SalesOrder.deal_id)
                               .join(Stage, Stage.id == Deal.stage_id).where(Stage.is_won.is_(False))
                               .order_by(SalesOrder.id)).all()
    posted = _posted_invoices([order_id for order_id, *_ in stray])
    for order_id, number, state, deal_id, lost in stray:
        invoices = f"; posted invoices {', '.join(posted[order_id])}" if posted.get(order_id) else ""
        found.append(_drift("order_without_won_deal", f"order {number} ({state}{invoices}) belongs to deal "
                                                      f"{deal_id}, which is {'lost' if lost else 'still open'}",
                            number, False))
    return found


def _posted_invoices(order_ids: list[int]) -> dict[int, list[str]]:
    """The numbers of the posted invoices of each of ``order_ids``, as finance has them
    now (as last heard from it when finance is not installed)."""
    if not order_ids:
        return {}
    records = db.session.scalars(sa.select(OrderInvoice).where(OrderInvoice.order_id.in_(order_ids))
                                 .order_by(OrderInvoice.id)).all()
    actual = services.finance().invoice_states(r.invoice_id for r in records) \
        if records and services.installed("erp_finance") else {}
    found: dict[int, list[str]] = {}
    for record in records:
        if actual.get(record.invoice_id, record.state) in POSTED:
            found.setdefault(record.order_id, []).append(record.number or str(record.invoice_id))
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
    records = db.session.scalars(sa.select(OrderInvoice).where(OrderInvoice.state.in_(POSTED))).all()
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
    """An account linked to several customers, or a customer to several accounts."""
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


def _quantities() -> list[dict]:
    """Order lines delivered or invoiced beyond the quantity ordered."""
    rows = db.session.execute(
        sa.select(SalesOrder.number, SalesOrderLine.description, SalesOrderLine.quantity,
                  SalesOrderLine.delivered, SalesOrderLine.invoiced)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(sa.or_(SalesOrderLine.delivered > SalesOrderLine.quantity,
                      SalesOrderLine.invoiced > SalesOrderLine.quantity))
        .order_by(SalesOrder.id, SalesOrderLine.position, SalesOrderLine.id)).all()
    found = []
    for number, description, quantity, delivered, invoiced in rows:
        for kind, done, verb in (("over_delivered", delivered, "delivered"), ("over_invoiced", invoiced, "invoiced")):
            if done > quantity:
                found.append(_drift(kind, f"order {number} line “{description}”: {done} {verb} "
                                          f"but {quantity} ordered", number, False))
    return found


def _deliveries() -> list[dict]:
    """Per order and product, the quantity its lines say was delivered against what the
    order's deliveries really moved (inventory's stock moves)."""
    if not services.installed("erp_inventory"):
        return []
    from plugins.erp_inventory import services as inventory

    moved = {(reference, sku.upper()): quantity
             for (reference, sku), quantity in inventory.delivered_by_reference("SO-").items()}
    product = sa.func.upper(SalesOrderLine.product_ref)
    delivered = dict(((number, sku), quantity) for number, sku, quantity in db.session.execute(
        sa.select(SalesOrder.number, product, sa.func.sum(SalesOrderLine.delivered))
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(SalesOrderLine.product_ref.is_not(None)).group_by(SalesOrder.number, product)
        .having(sa.func.sum(SalesOrderLine.delivered) > 0)))
    # moves of an order's product that none of its lines delivered: only for the references that are orders
    unrecorded = {reference for reference, _ in moved.keys() - delivered.keys()}
    orders = set(db.session.scalars(sa.select(SalesOrder.number).where(SalesOrder.number.in_(unrecorded)))) \
        if unrecorded else set()
    found = []
    for number, sku in sorted(delivered.keys() | {k for k in moved if k[0] in orders}):
        recorded, really = (Decimal(side.get((number, sku), 0)).quantize(THOUSANDTH) for side in (delivered, moved))
        if recorded != really:
            found.append(_drift("delivered_differs_from_moves", f"order {number}: {recorded} of {sku} "
                                f"recorded as delivered but its deliveries moved {really}", number, False))
    return found


def _deal_dates() -> list[dict]:
    """Deals whose status disagrees with their dates: a won deal has a won date and no
    lost date, a lost deal the other way round, an open deal neither."""
    won_at, lost_at = Deal.won_at.is_not(None), Deal.lost_at.is_not(None)
    won, lost = Stage.is_won.is_(True), sa.and_(Stage.is_won.is_(False), Stage.is_lost.is_(True))
    rows = db.session.execute(
        sa.select(Deal.id, Deal.title, Stage.is_won, Stage.is_lost, won_at, lost_at)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(sa.or_(sa.and_(won, sa.or_(~won_at, lost_at)), sa.and_(lost, sa.or_(~lost_at, won_at)),
                      sa.and_(~won, ~lost, sa.or_(won_at, lost_at))))
        .order_by(Deal.id)).all()
    found = []
    for deal_id, title, is_won, is_lost, has_won_at, has_lost_at in rows:
        status = "won" if is_won else "lost" if is_lost else "open"
        wrong = [text for text, bad in (
            ("no won date", status == "won" and not has_won_at), ("a won date", status != "won" and has_won_at),
            ("no lost date", status == "lost" and not has_lost_at), ("a lost date", status != "lost" and has_lost_at))
            if bad]
        found.append(_drift("deal_dates_disagree", f"deal “{title}” is {status} but has {' and '.join(wrong)}",
                            f"deal:{deal_id}", False))
    return found
