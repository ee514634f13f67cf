"""Credit control: what a customer owes, what is overdue, and how much credit is left.

Open amounts per due date come from one SQL query: each installment of a posted
invoice is open for what the invoice's settled amount (``amount_paid``, applied to the
earliest installments first) does not cover, computed with a running sum (window
function) over the invoice's installments.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from plugins.erp_finance import ledger
from plugins.erp_finance.ledger import ZERO, q
from plugins.erp_finance.models import (Account, Customer, Installment, Invoice, JournalEntry,
                                        JournalLine, Payment)

OPEN_STATES = ("posted", "partially_paid")


def open_installments(kind: str = "out_invoice", customer_id: int | None = None):
    """Subquery of open installments: invoice, party, date, due date, open amount (document
    and company currency). With ``customer_id``, that customer's alone: the running sums
    then read the customer's invoices, not every open invoice of the book."""
    covered_to = sa.func.sum(Installment.amount).over(
        partition_by=Installment.invoice_id, order_by=(Installment.due_date, Installment.id))
    cumulative = (sa.select(Installment.id, Installment.invoice_id, Installment.due_date,
                            Installment.amount, covered_to.label("covered_to"))
                  .join(Invoice, Invoice.id == Installment.invoice_id)
                  .where(Invoice.kind == kind, Invoice.state.in_(OPEN_STATES)))
    if customer_id is not None:
        cumulative = cumulative.where(Invoice.customer_id == customer_id)
    cumulative = cumulative.subquery()
    left = cumulative.c.covered_to - Invoice.amount_paid
    open_amount = sa.case((left <= 0, 0), (left >= cumulative.c.amount, cumulative.c.amount),
                          else_=left)
    return (sa.select(Invoice.id.label("invoice_id"), Invoice.number, Invoice.customer_id,
                      Invoice.supplier_id, Invoice.date, Invoice.currency,
                      cumulative.c.due_date, open_amount.label("open_amount"),
                      (open_amount * Invoice.rate).label("open_company"))
            .join(Invoice, Invoice.id == cumulative.c.invoice_id)
            .where(left > 0)).subquery()


def control_balance(control: str, customer_id: int | None = None, supplier_id: int | None = None,
                    as_of: dt.date | None = None) -> Decimal:
    """Debits less credits on the receivable (payable) control accounts, posted, per party."""
    stmt = (sa.select(sa.func.coalesce(sa.func.sum(JournalLine.debit - JournalLine.credit), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .join(Account, Account.id == JournalLine.account_id)
            .where(JournalEntry.state == "posted", Account.control == control))
    if customer_id is not None:
        stmt = stmt.where(JournalLine.customer_id == customer_id)
    if supplier_id is not None:
        stmt = stmt.where(JournalLine.supplier_id == supplier_id)
    if as_of is not None:
        stmt = stmt.where(JournalEntry.date <= as_of)
    return q(db.session.scalar(stmt) or 0)


@dataclass(frozen=True)
class CustomerStatus:
    """A customer's standing, in the company ``currency``.

    ``balance`` is what the customer owes (negative: they hold credit); ``available_credit``
    is the credit limit less the balance (negative when over the limit). A limit of 0 means
    no limit is set: ``available_credit`` is None and the customer is never over it.
    """

    customer_id: int
    currency: str
    balance: Decimal
    overdue_amount: Decimal
    oldest_overdue_days: int
    open_invoices: int
    credit_limit: Decimal
    available_credit: Decimal | None
    over_limit: bool
    last_payment_date: dt.date | None
    last_payment_amount: Decimal | None


def customer_status(customer_id: int, today: dt.date | None = None) -> CustomerStatus:
    """Balance, overdue amount, oldest overdue days, credit limit, available credit and last
    payment of a customer. Plugins depending on finance call this (credit checks, panels)."""
    from plugins.erp_finance.parties import get_customer

    customer = get_customer(customer_id)
    today = today or ledger.today()
    balance = control_balance("receivable", customer_id=customer.id)
    inst = open_installments("out_invoice", customer.id)
    overdue, oldest = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(inst.c.open_company), 0), sa.func.min(inst.c.due_date))
        .where(inst.c.customer_id == customer.id, inst.c.due_date < today)).one()
    open_count = db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(
        Invoice.customer_id == customer.id, Invoice.kind == "out_invoice",
        Invoice.state.in_(OPEN_STATES)))
    last = db.session.execute(sa.select(Payment.date, Payment.amount).where(
        Payment.customer_id == customer.id, Payment.state == "posted")
        .order_by(Payment.date.desc(), Payment.id.desc()).limit(1)).first()
    limit = customer.credit_limit or ZERO
    return CustomerStatus(
        customer_id=customer.id, currency=ledger.company_currency(), balance=balance,
        overdue_amount=q(overdue or 0), oldest_overdue_days=(today - oldest).days if oldest else 0,
        open_invoices=open_count, credit_limit=limit,
        available_credit=limit - balance if limit > 0 else None,
        over_limit=limit > 0 and balance > limit, last_payment_date=last[0] if last else None,
        last_payment_amount=last[1] if last else None)


def overdue_invoices(today: dt.date | None = None, min_days: int = 1, customer_id: int | None = None):
    """Customer invoices with an installment overdue by at least ``min_days``, for dunning.

    Rows: invoice id and number, customer, oldest overdue due date, days overdue, overdue
    amount and currency; most overdue first.
    """
    today = today or ledger.today()
    rows = _open_by_invoice(today - dt.timedelta(days=min_days), customer_id)
    return [{"invoice_id": r.invoice_id, "number": r.number, "customer_id": r.customer_id,
             "customer": r.customer, "email": r.email, "due_date": r.due_date,
             "days_overdue": (today - r.due_date).days, "overdue_amount": q(r.open_amount),
             "currency": r.currency} for r in rows]


def expected_payments(customer_id: int | None = None, today: dt.date | None = None) -> list[dict]:
    """Every open customer invoice with what is still to be paid: invoice id and number,
    customer, next due date, open amount and currency, days overdue (0 when not yet due);
    the earliest due first."""
    today = today or ledger.today()
    return [{"invoice_id": r.invoice_id, "number": r.number, "customer_id": r.customer_id,
             "customer": r.customer, "due_date": r.due_date, "open_amount": q(r.open_amount),
             "currency": r.currency, "days_overdue": max((today - r.due_date).days, 0)}
            for r in _open_by_invoice(None, customer_id)]


def _open_by_invoice(due_on_or_before: dt.date | None, customer_id: int | None):
    """Open installments summed per customer invoice, earliest due date first."""
    inst = open_installments("out_invoice", customer_id)
    stmt = (sa.select(inst.c.invoice_id, inst.c.number, inst.c.customer_id,
                      Customer.name.label("customer"), Customer.email,
                      sa.func.min(inst.c.due_date).label("due_date"),
                      sa.func.sum(inst.c.open_amount).label("open_amount"), inst.c.currency)
            .join(Customer, Customer.id == inst.c.customer_id)
            .group_by(inst.c.invoice_id, inst.c.number, inst.c.customer_id, Customer.name,
                      Customer.email, inst.c.currency)
            .order_by(sa.func.min(inst.c.due_date), inst.c.number))
    if due_on_or_before is not None:
        stmt = stmt.where(inst.c.due_date <= due_on_or_before)
    if customer_id is not None:
        stmt = stmt.where(inst.c.customer_id == customer_id)
    return db.session.execute(stmt)


def supplier_balance(supplier_id: int) -> Decimal:
    """What the business owes a supplier (credit balance of the payable account, positive)."""
    return -control_balance("payable", supplier_id=supplier_id)
