"""Financial reports, aggregated in SQL, in the company currency.

Each function returns plain dicts (rows and totals) that the pages, the JSON API and
the CSV downloads all render. Only posted entries count.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from core.db import db, read_session
from plugins.erp_finance import ledger
from plugins.erp_finance.credit import open_installments
from plugins.erp_finance.ledger import ZERO, q
from plugins.erp_finance.models import (Account, AccountDay, Customer, Invoice, JournalEntry,
                                        JournalLine, Payment, Supplier)

BUCKETS = ("current", "1-30", "31-60", "61-90", "over 90")


def _posted_lines():
    return (sa.select().select_from(JournalLine)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .join(Account, Account.id == JournalLine.account_id)
            .where(JournalEntry.state == "posted"))


def _sum(expr):
    return sa.func.coalesce(sa.func.sum(expr), 0)


def default_period(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The given dates, else the calendar year to date."""
    today = ledger.today()
    return date_from or dt.date(today.year, 1, 1), date_to or today


def _day_sums():
    """The daily sums of the accounts (the transaction's own postings included)."""
    if read_session() is db.session:
        ledger.day_sums_written()
    return sa.select().select_from(AccountDay).join(Account, Account.id == AccountDay.account_id)


def trial_balance(date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Per account: balance before the period, debits and credits in it, balance at its end."""
    date_from, date_to = default_period(date_from, date_to)
    in_period = AccountDay.day >= date_from
    net = AccountDay.debit - AccountDay.credit
    stmt = (_day_sums().add_columns(
        Account.id, Account.code, Account.name, Account.type,
        _sum(sa.case((AccountDay.day < date_from, net), else_=0)).label("opening"),
        _sum(sa.case((in_period, AccountDay.debit), else_=0)).label("debit"),
        _sum(sa.case((in_period, AccountDay.credit), else_=0)).label("credit"))
        .where(AccountDay.day <= date_to)
        .group_by(Account.id, Account.code, Account.name, Account.type).order_by(Account.code))
    rows = []
    for r in read_session().execute(stmt):
        opening, debit, credit = q(r.opening), q(r.debit), q(r.credit)
        rows.append({"account_id": r.id, "code": r.code, "name": r.name, "type": r.type,
                     "opening": opening, "debit": debit, "credit": credit,
                     "closing": opening + debit - credit})
    totals = {key: sum((row[key] for row in rows), ZERO) for key in ("opening", "debit", "credit", "closing")}
    return {"date_from": date_from, "date_to": date_to, "currency": ledger.company_currency(),
            "rows": rows, "totals": totals, "balanced": totals["debit"] == totals["credit"]
            and totals["closing"] == 0}


def general_ledger(account_id: int, date_from: dt.date | None = None, date_to: dt.date | None = None,
                   page: int = 1, per_page: int = 200) -> dict:
    """The posted lines of one account with a running balance (a window function)."""
    account = read_session().get(Account, account_id)
    if account is None:
        from core.errors import NotFound

        raise NotFound(f"account {account_id} not found")
    date_from, date_to = default_period(date_from, date_to)
    opening = q(read_session().scalar(_day_sums().add_columns(
        _sum(AccountDay.debit - AccountDay.credit)).where(
        AccountDay.account_id == account.id, AccountDay.day < date_from)))
    order = (JournalEntry.date, JournalEntry.id, JournalLine.id)
    running = sa.func.sum(JournalLine.debit - JournalLine.credit).over(order_by=order)
    inner = (_posted_lines().add_columns(
        JournalLine.id.label("line_id"), JournalEntry.id.label("entry_id"), JournalEntry.date,
        JournalEntry.number, JournalEntry.ref, JournalLine.description, JournalLine.debit,
        JournalLine.credit, JournalLine.currency, JournalLine.amount_currency,
        sa.func.coalesce(Customer.name, Supplier.name).label("partner"),
        running.label("running"))
        .outerjoin(Customer, Customer.id == JournalLine.customer_id)
        .outerjoin(Supplier, Supplier.id == JournalLine.supplier_id)
        .where(JournalLine.account_id == account.id, JournalEntry.date >= date_from,
               JournalEntry.date <= date_to)).subquery()
    total = read_session().scalar(sa.select(sa.func.count()).select_from(inner))
    stmt = (sa.select(inner).order_by(inner.c.date, inner.c.entry_id, inner.c.line_id)
            .limit(per_page).offset((page - 1) * per_page))
    rows = [{"entry_id": r.entry_id, "date": r.date, "number": r.number, "ref": r.ref,
             "description": r.description, "partner": r.partner, "debit": q(r.debit),
             "credit": q(r.credit), "currency": r.currency, "amount_currency": q(r.amount_currency),
             "balance": opening + q(r.running)} for r in read_session().execute(stmt)]
    sums = read_session().execute(sa.select(_sum(inner.c.debit), _sum(inner.c.credit))).one()
    debit, credit = q(sums[0]), q(sums[1])
    return {"account": {"id": account.id, "code": account.code, "name": account.name,
                        "type": account.type},
            "date_from": date_from, "date_to": date_to, "currency": ledger.company_currency(),
            "opening": opening, "debit": debit, "credit": credit, "closing": opening + debit - credit,
            "rows": rows, "total": total, "page": page, "per_page": per_page}


def _balances_by_account(types: tuple[str, ...], date_from: dt.date | None, date_to: dt.date):
    stmt = (_day_sums().add_columns(Account.id, Account.code, Account.name, Account.type,
                                    _sum(AccountDay.debit - AccountDay.credit).label("net"))
            .where(Account.type.in_(types), AccountDay.day <= date_to)
            .group_by(Account.id, Account.code, Account.name, Account.type).order_by(Account.code))
    if date_from is not None:
        stmt = stmt.where(AccountDay.day >= date_from)
    return read_session().execute(stmt).all()


def _section(rows, account_type: str, sign: int) -> dict:
    lines = [{"account_id": r.id, "code": r.code, "name": r.name, "amount": sign * q(r.net)}
             for r in rows if r.type == account_type and q(r.net) != 0]
    return {"rows": lines, "total": sum((line["amount"] for line in lines), ZERO)}


def profit_and_loss(date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Income and expenses of a period and the profit (income less expenses)."""
    date_from, date_to = default_period(date_from, date_to)
    rows = _balances_by_account(("income", "expense"), date_from, date_to)
    income, expense = _section(rows, "income", -1), _section(rows, "expense", 1)
    return {"date_from": date_from, "date_to": date_to, "currency": ledger.company_currency(),
            "income": income, "expense": expense, "profit": income["total"] - expense["total"]}


def balance_sheet(as_of: dt.date | None = None) -> dict:
    """Assets, liabilities and equity at a date; profit not yet closed shows as current earnings."""
    as_of = as_of or ledger.today()
    rows = _balances_by_account(ACCOUNT_ORDER, None, as_of)
    assets = _section(rows, "asset", 1)
    liabilities = _section(rows, "liability", -1)
    equity = _section(rows, "equity", -1)
    earnings = -sum((q(r.net) for r in rows if r.type in ("income", "expense")), ZERO)
    equity["rows"].append({"account_id": None, "code": "", "name": "Current earnings", "amount": earnings})
    equity["total"] += earnings
    return {"as_of": as_of, "currency": ledger.company_currency(), "assets": assets,
            "liabilities": liabilities, "equity": equity,
            "liabilities_and_equity": liabilities["total"] + equity["total"],
            "balanced": assets["total"] == liabilities["total"] + equity["total"]}


ACCOUNT_ORDER = ("asset", "liability", "equity", "income", "expense")


def aging(side: str = "receivable", as_of: dt.date | None = None) -> dict:
    """Open amounts per party in buckets of days past due (current, 1-30, 31-60, 61-90, over 90).

    Open installments of posted invoices (bills) count by their due date; unused credit
    notes and unallocated payments count negative, by their date. Company currency.
    """
    as_of = as_of or ledger.today()
    customer = side == "receivable"
    party_col = "customer_id" if customer else "supplier_id"
    inst = open_installments("out_invoice" if customer else "in_invoice")
    refund = "out_refund" if customer else "in_refund"
    parts = [
        sa.select(inst.c[party_col].label("party_id"), inst.c.due_date.label("due"),
                  inst.c.open_company.label("amount")).where(inst.c.date <= as_of),
        sa.select(getattr(Invoice, party_col).label("party_id"), Invoice.date.label("due"),
                  (-(Invoice.amount_total - Invoice.amount_paid) * Invoice.rate).label("amount"))
        .where(Invoice.kind == refund, Invoice.state.in_(("posted", "partially_paid")),
               Invoice.date <= as_of),
        sa.select(getattr(Payment, party_col).label("party_id"), Payment.date.label("due"),
                  (-(Payment.amount - Payment.amount_allocated) * Payment.rate).label("amount"))
        .where(Payment.direction == ("inbound" if customer else "outbound"),
               Payment.state == "posted", Payment.amount_allocated < Payment.amount,
               Payment.date <= as_of),
    ]
    u = sa.union_all(*parts).subquery()
    limits = [as_of, as_of - dt.timedelta(days=30), as_of - dt.timedelta(days=60),
              as_of - dt.timedelta(days=90)]
    bucket_cases = [
        _sum(sa.case((u.c.due >= limits[0], u.c.amount), else_=0)),
        _sum(sa.case((sa.and_(u.c.due < limits[0], u.c.due >= limits[1]), u.c.amount), else_=0)),
        _sum(sa.case((sa.and_(u.c.due < limits[1], u.c.due >= limits[2]), u.c.amount), else_=0)),
        _sum(sa.case((sa.and_(u.c.due < limits[2], u.c.due >= limits[3]), u.c.amount), else_=0)),
        _sum(sa.case((u.c.due < limits[3], u.c.amount), else_=0)),
    ]
    party = Customer if customer else Supplier
    stmt = (sa.select(party.id, party.name, *[c.label(f"b{i}") for i, c in enumerate(bucket_cases)])
            .join(u, u.c.party_id == party.id).group_by(party.id, party.name).order_by(party.name))
    rows = []
    for r in read_session().execute(stmt):
        amounts = {name: q(getattr(r, f"b{i}")) for i, name in enumerate(BUCKETS)}
        total = sum(amounts.values(), ZERO)
        if total == 0 and not any(amounts.values()):
            continue
        rows.append({"party_id": r.id, "name": r.name, **amounts, "total": total})
    totals = {name: sum((row[name] for row in rows), ZERO) for name in (*BUCKETS, "total")}
    return {"side": side, "as_of": as_of, "currency": ledger.company_currency(),
            "buckets": list(BUCKETS), "rows": rows, "totals": totals}


def revenue_by_month(date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Income recognised per month (credits less debits on income accounts)."""
    date_from, date_to = default_period(date_from, date_to)
    year = sa.cast(sa.extract("year", JournalEntry.date), sa.Integer)
    month = sa.cast(sa.extract("month", JournalEntry.date), sa.Integer)
    stmt = (_posted_lines().add_columns(year.label("year"), month.label("month"),
                                        _sum(JournalLine.credit - JournalLine.debit).label("revenue"))
            .where(Account.type == "income", JournalEntry.date >= date_from, JournalEntry.date <= date_to)
            .group_by(year, month).order_by(year, month))
    rows = [{"month": f"{r.year:04d}-{r.month:02d}", "revenue": q(r.revenue)}
            for r in read_session().execute(stmt)]
    return {"date_from": date_from, "date_to": date_to, "currency": ledger.company_currency(),
            "rows": rows, "total": sum((r["revenue"] for r in rows), ZERO)}


def receivables_summary() -> dict:
    """The dashboard widget: receivables aging totals today."""
    report = aging("receivable")
    return {"totals": report["totals"], "currency": report["currency"],
            "buckets": report["buckets"], "customers": len(report["rows"])}


def open_amounts_match_ledger() -> tuple[Decimal, Decimal]:
    """(receivable control balance, open customer documents) -- equal when the books agree."""
    from plugins.erp_finance.credit import control_balance

    ledger_side = control_balance("receivable")
    docs = read_session().scalar(sa.select(_sum(sa.case(
        (Invoice.kind == "out_invoice", Invoice.amount_total - Invoice.amount_paid),
        else_=-(Invoice.amount_total - Invoice.amount_paid)) * Invoice.rate)).where(
        Invoice.kind.in_(("out_invoice", "out_refund")), Invoice.state.in_(("posted", "partially_paid"))))
    unallocated = read_session().scalar(sa.select(_sum((Payment.amount - Payment.amount_allocated) * Payment.rate))
                                    .where(Payment.direction == "inbound", Payment.state == "posted"))
    return ledger_side, q(docs or 0) - q(unallocated or 0)
