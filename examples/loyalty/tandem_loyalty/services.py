"""Loyalty operations: points earned by paid invoices, taken back by credit notes.

The rule: one point per whole unit of the invoice total, in the invoice's own currency,
rounded down (an invoice of 99.99 EUR earns 99 points), earned when the invoice becomes
fully paid. A credit note on an invoice takes back one point per whole unit it credits,
rounded down, so an invoice never gives back more points than it earned; a credit note
counts only once its invoice has earned. Points go to the CRM account the bridge links
to the invoice's finance customer; an invoice of a customer with no linked account
earns none.

Accounts are read through CRM's record type, so a user sees the points of the accounts
CRM lets them see. Services never commit (the request or the CLI does).
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa

from core.api import apply_sort
from core.db import db
from plugins.bridge import services as bridge
from plugins.crm.records import ACCOUNT
from tandem_loyalty.models import EARNED, TAKEN_BACK, PointsEntry


def points_for(amount: Decimal) -> int:
    """Whole currency units in ``amount``, rounded down (never below 0)."""
    return max(int(amount.to_integral_value(rounding=ROUND_FLOOR)), 0)


def _record(key: str, **values) -> PointsEntry | None:
    """Write one movement unless ``key`` is already there; None when it was."""
    if db.session.scalar(sa.select(PointsEntry.id).where(PointsEntry.key == key)) is not None:
        return None
    entry = PointsEntry(key=key, **values)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except sa.exc.IntegrityError:
        return None  # a concurrent transaction wrote the same key first
    return entry


def _move(key: str, event, invoice_id: int, reason: str, sign: int) -> PointsEntry | None:
    """Record the points of a finance document (an event's ``number``, ``amount_total``,
    ``currency``, ``customer_id``) for the customer's CRM account, once per ``key``."""
    link = bridge.link_for_customer(event.customer_id)
    if link is None:
        return None  # not a CRM account: no points
    return _record(key, account_id=link.account_id, customer_id=event.customer_id,
                   invoice_id=invoice_id, reason=reason, document=event.number,
                   amount=event.amount_total, currency=event.currency,
                   points=sign * points_for(event.amount_total))


def earn_for_paid_invoice(event) -> PointsEntry | None:
    """Award the points of an invoice that became fully paid (``InvoicePaid``), once.

    Returns the new movement; None when the invoice already earned (paid again after a
    cancelled payment) or its customer has no CRM account.
    """
    return _move(f"invoice:{event.invoice_id}", event, event.invoice_id, EARNED, +1)


def take_back_for_credit_note(event) -> PointsEntry | None:
    """Take back the points of what a credit note (``CreditNoteIssued``) credits, once."""
    if event.invoice_id is None:
        return None  # a credit note correcting no invoice
    return _move(f"credit_note:{event.credit_note_id}", event, event.invoice_id, TAKEN_BACK, -1)


def counted():
    """The clause keeping movements that count: those of invoices that earned points."""
    earned = sa.select(PointsEntry.invoice_id).where(PointsEntry.reason == EARNED)
    return PointsEntry.invoice_id.in_(earned)


def _totals():
    """Points and paid invoices of the movements selected (SQL aggregates)."""
    return (sa.func.coalesce(sa.func.sum(PointsEntry.points), 0).label("points"),
            sa.func.count(sa.case((PointsEntry.reason == EARNED, 1))).label("invoices"))


def balances():
    """A select of (account_id, account_name, points, invoices) per visible account with
    points, aggregated in SQL; ``invoices`` counts its paid invoices."""
    accounts = ACCOUNT.query().subquery()
    return (sa.select(PointsEntry.account_id, accounts.c.name.label("account_name"), *_totals())
            .join(accounts, accounts.c.id == PointsEntry.account_id)
            .where(counted())
            .group_by(PointsEntry.account_id, accounts.c.name)).subquery()


def top_accounts(limit: int = 5) -> list:
    """The accounts with the most points, best first."""
    return balance_page({"per_page": limit})["items"]


def balance_page(args: dict) -> dict:
    """One page of account balances (``page``, ``per_page``, ``sort``, ``q`` searching
    account names, ``min_points``)."""
    rows = balances()
    stmt = sa.select(rows)
    if args.get("q"):
        stmt = stmt.where(rows.c.account_name.ilike(f"%{args['q'].strip()}%"))
    if args.get("min_points") is not None:
        stmt = stmt.where(rows.c.points >= args["min_points"])
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    page, per_page = args.get("page", 1), args.get("per_page", 50)
    stmt = apply_sort(stmt, args.get("sort"), {"points": rows.c.points, "account_name": rows.c.account_name,
                                               "account_id": rows.c.account_id,
                                               "invoices": rows.c.invoices}, "-points,account_name")
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).mappings().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def account_points(account_id: int, recent: int = 50) -> dict:
    """An account's points, its paid invoices, and its ``recent`` latest movements.

    ``NotFound`` when the account does not exist or is out of the user's scope.
    """
    account = ACCOUNT.get(account_id)
    mine = (PointsEntry.account_id == account.id, counted())
    points, invoices = db.session.execute(sa.select(*_totals()).where(*mine)).one()
    entries = db.session.scalars(sa.select(PointsEntry).where(*mine)
                                 .order_by(PointsEntry.id.desc()).limit(recent)).all()
    return {"account_id": account.id, "account_name": account.name, "points": points,
            "invoices": invoices, "entries": entries}
