"""Small builders for finance tests (inside an app context)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from plugins.erp_finance import services
from plugins.erp_finance.models import Account, JournalEntry, JournalLine, Tax

D = Decimal
DAY = dt.date(2026, 3, 10)


def account(code: str) -> Account:
    return db.session.scalar(sa.select(Account).where(Account.code == code))


def tax(name: str = "VAT 20%") -> Tax:
    return db.session.scalar(sa.select(Tax).where(Tax.name == name))


def customer(name: str = "Acme", **fields):
    return services.create_customer({"name": name, "currency": "EUR", "payment_terms_days": 30, **fields})


def supplier(name: str = "Paper Co", **fields):
    return services.create_supplier({"name": name, "currency": "EUR", "payment_terms_days": 30, **fields})


def invoice(party, amount="100.00", date=DAY, post=True, kind="out_invoice", taxed=False, **fields):
    """A document of one line worth ``amount`` (untaxed), posted unless ``post`` is False."""
    key = "customer_id" if kind.startswith("out_") else "supplier_id"
    line = {"description": "Work", "quantity": D(1), "unit_price": D(amount)}
    if taxed:
        line["tax_id"] = tax("VAT 20%" if kind.startswith("out_") else "VAT 20% (purchases)").id
    return services.create_invoice({key: party.id, "date": date, "lines": [line], "post": post, **fields},
                                   kind=kind)


def manual_entry(amount="50.00", date=DAY, post=True, debit="6200", credit="1000"):
    misc = services.get_settings().misc_journal_id
    return services.create_entry({"journal_id": misc, "date": date, "ref": "Supplies", "post": post,
                                  "lines": [{"account_id": account(debit).id, "debit": D(amount)},
                                            {"account_id": account(credit).id, "credit": D(amount)}]})


def trial_totals():
    """(sum of debits, sum of credits) over every posted line, in SQL."""
    row = db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(JournalLine.debit), 0),
                                       sa.func.coalesce(sa.func.sum(JournalLine.credit), 0))
                             .join(JournalEntry).where(JournalEntry.state == "posted")).one()
    return D(row[0]).quantize(D("0.01")), D(row[1]).quantize(D("0.01"))
