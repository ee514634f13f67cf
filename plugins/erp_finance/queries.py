"""The filtered lists of entries, documents and payments, shared by the API and the pages."""
from __future__ import annotations

import sqlalchemy as sa

from plugins.erp_finance import ledger
from plugins.erp_finance.models import Customer, Invoice, JournalEntry, Payment, Supplier

ENTRY_SORT = {"id": JournalEntry.id, "date": JournalEntry.date, "number": JournalEntry.number}
DOCUMENT_SORT = {"id": Invoice.id, "date": Invoice.date, "due_date": Invoice.due_date,
                 "number": Invoice.number, "amount_total": Invoice.amount_total, "state": Invoice.state}
PAYMENT_SORT = {"id": Payment.id, "date": Payment.date, "amount": Payment.amount}


def _like(args: dict) -> str | None:
    return f"%{args['q'].strip()}%" if args.get("q") else None


def entries(args: dict):
    """Entries by journal, state, dates; ``q`` matches number and reference."""
    stmt = sa.select(JournalEntry)
    for key in ("journal_id", "state"):
        if args.get(key):
            stmt = stmt.where(getattr(JournalEntry, key) == args[key])
    if args.get("date_from"):
        stmt = stmt.where(JournalEntry.date >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(JournalEntry.date <= args["date_to"])
    if like := _like(args):
        stmt = stmt.where(sa.or_(JournalEntry.number.ilike(like), JournalEntry.ref.ilike(like)))
    return stmt


def documents(kinds: tuple[str, ...], args: dict):
    """Documents of ``kinds`` by state, kind, party, overdue; ``q`` matches number,
    reference and the party's name."""
    stmt = sa.select(Invoice).where(Invoice.kind.in_(kinds))
    for key in ("state", "kind", "customer_id", "supplier_id"):
        if args.get(key):
            stmt = stmt.where(getattr(Invoice, key) == args[key])
    if args.get("overdue"):
        stmt = stmt.where(Invoice.state.in_(("posted", "partially_paid")), Invoice.due_date < ledger.today())
    if like := _like(args):
        stmt = (stmt.outerjoin(Customer, Customer.id == Invoice.customer_id)
                .outerjoin(Supplier, Supplier.id == Invoice.supplier_id)
                .where(sa.or_(Invoice.number.ilike(like), Invoice.reference.ilike(like),
                              Customer.name.ilike(like), Supplier.name.ilike(like))))
    return stmt


def payments(args: dict):
    """Payments by direction, state and party; ``q`` matches number and reference."""
    stmt = sa.select(Payment)
    for key in ("direction", "state", "customer_id", "supplier_id"):
        if args.get(key):
            stmt = stmt.where(getattr(Payment, key) == args[key])
    if like := _like(args):
        stmt = stmt.where(sa.or_(Payment.number.ilike(like), Payment.reference.ilike(like)))
    return stmt
