"""The ledger: settings, chart of accounts, fiscal years, exchange rates, journal entries.

Posting an entry checks that it balances exactly (``Decimal``), that its date is after
the lock date and inside an open fiscal year, numbers it gap-free per journal, fiscal
year and prefix (the sequence row is locked ``FOR UPDATE``), and chains its hash to the
previous entry of its journal (the journal row is locked too, so the chain never forks).
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.dialects import postgresql, sqlite

from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.pending import PendingRows
from core.states import lock, lock_by_id, require_state, state_change
from plugins.erp_finance.models import (Account, AccountDay, ExchangeRate, FiscalYear, Journal,
                                        JournalEntry, JournalLine, PaymentTerm, Sequence, Settings,
                                        Tax)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# --- money ---


def q(value) -> Decimal:
    """A Decimal rounded to the cent (half up, as invoices are)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money(value, field: str = "amount") -> Decimal:
    """An exact amount from input: Decimal, int or numeric text, at most two decimals.

    Floats are refused: they cannot hold most cent amounts exactly.
    """
    if isinstance(value, float) or isinstance(value, bool):
        raise ValidationFailed({field: ["Give amounts as decimal strings, not floats."]})
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except Exception:
        raise ValidationFailed({field: ["Not a valid amount."]}) from None
    if not amount.is_finite():
        raise ValidationFailed({field: ["Not a valid amount."]})
    if amount != amount.quantize(CENT):
        raise ValidationFailed({field: ["Use at most two decimals."]})
    return amount.quantize(CENT)


def today() -> dt.date:
    return dt.date.today()


def actor_id() -> int | None:
    """The logged-in user's id, when there is a request."""
    if not has_request_context():
        return None
    from flask_login import current_user

    user_id = current_user.get_id() if current_user else None
    return int(user_id) if user_id else None


# --- settings and the default chart ---

DEFAULT_CHART = (
    ("1000", "Bank", "asset", None), ("1010", "Cash", "asset", None),
    ("1100", "Accounts receivable", "asset", "receivable"),
    ("1200", "VAT receivable (input tax)", "asset", None), ("1300", "Inventory", "asset", None),
    ("1500", "Equipment", "asset", None),
    ("2000", "Accounts payable", "liability", "payable"),
    ("2100", "VAT payable (output tax)", "liability", None),
    ("2200", "Accrued liabilities", "liability", None), ("2500", "Loans", "liability", None),
    ("3000", "Owner's equity", "equity", None), ("3900", "Retained earnings", "equity", None),
    ("4000", "Sales of goods", "income", None), ("4100", "Services revenue", "income", None),
    ("4900", "Other income", "income", None),
    ("5000", "Cost of goods sold", "expense", None), ("6000", "Rent", "expense", None),
    ("6100", "Salaries", "expense", None), ("6200", "Office supplies", "expense", None),
    ("6300", "Professional fees", "expense", None),
    ("6400", "Software and subscriptions", "expense", None), ("6500", "Travel", "expense", None),
    ("6900", "Bank charges", "expense", None), ("7900", "Exchange differences", "expense", None),
)
DEFAULT_JOURNALS = (  # code, name, type, refund code, default account code
    ("INV", "Customer invoices", "sale", "RINV", None),
    ("BILL", "Vendor bills", "purchase", "RBILL", None),
    ("BNK", "Bank", "bank", None, "1000"), ("CSH", "Cash", "cash", None, "1010"),
    ("MISC", "Miscellaneous operations", "general", None, None),
)
DEFAULT_TAXES = (  # name, rate, price included, scope, account code
    ("VAT 20%", "20", False, "sale", "2100"), ("VAT 10%", "10", False, "sale", "2100"),
    ("VAT 20% included", "20", True, "sale", "2100"),
    ("VAT 20% (purchases)", "20", False, "purchase", "1200"),
)
DEFAULT_TERMS = (("Immediate", "100% now"), ("15 days net", "100% 15d"),
                 ("30 days net", "100% 30d"), ("45 days net", "100% 45d"),
                 ("50% now, 50% in 30 days", "50% now, 50% 30d"))


def install_defaults() -> None:
    """Create the default chart, journals, taxes, payment terms and settings (once).

    Called when the module is first installed; safe to call again (it adds nothing
    that exists).
    """
    if db.session.scalar(sa.select(sa.func.count()).select_from(Account)):
        get_settings()
        return
    accounts = {}
    for code, name, type_, control in DEFAULT_CHART:
        accounts[code] = Account(code=code, name=name, type=type_, control=control)
        db.session.add(accounts[code])
    db.session.flush()
    journals = {}
    for code, name, type_, refund, account in DEFAULT_JOURNALS:
        journals[code] = Journal(code=code, name=name, type=type_, refund_code=refund,
                                 default_account_id=accounts[account].id if account else None)
        db.session.add(journals[code])
    taxes = {}
    for name, rate, included, scope, account in DEFAULT_TAXES:
        taxes[name] = Tax(name=name, rate=Decimal(rate), price_included=included, scope=scope,
                          account_id=accounts[account].id)
        db.session.add(taxes[name])
    for name, schedule in DEFAULT_TERMS:
        if not db.session.scalar(sa.select(PaymentTerm.id).where(PaymentTerm.name == name)):
            db.session.add(PaymentTerm(name=name, schedule=schedule))
    db.session.flush()
    settings = get_settings()
    settings.receivable_account_id = accounts["1100"].id
    settings.payable_account_id = accounts["2000"].id
    settings.income_account_id = accounts["4000"].id
    settings.expense_account_id = accounts["6200"].id
    settings.fx_account_id = accounts["7900"].id
    settings.sale_journal_id, settings.purchase_journal_id = journals["INV"].id, journals["BILL"].id
    settings.bank_journal_id, settings.misc_journal_id = journals["BNK"].id, journals["MISC"].id
    settings.sale_tax_id = taxes["VAT 20%"].id
    settings.purchase_tax_id = taxes["VAT 20% (purchases)"].id
    db.session.flush()


def get_settings() -> Settings:
    """The company's accounting settings (created with defaults when missing)."""
    settings = db.session.get(Settings, 1)
    if settings is None:
        settings = Settings(id=1)
        db.session.add(settings)
        db.session.flush()
    return settings


SETTINGS_FIELDS = ("company_name", "company_address", "company_tax_id", "currency", "lock_date",
                   "receivable_account_id", "payable_account_id", "income_account_id",
                   "expense_account_id", "fx_account_id", "sale_journal_id", "purchase_journal_id",
                   "bank_journal_id", "misc_journal_id", "sale_tax_id", "purchase_tax_id")


def update_settings(data: dict) -> Settings:
    """Change the settings. The company currency is fixed once anything is posted; the lock
    date never moves back over a closed fiscal year."""
    settings = get_settings()
    data = {k: v for k, v in data.items() if k in SETTINGS_FIELDS}
    if "currency" in data and data["currency"] != settings.currency and db.session.scalar(
            sa.select(JournalEntry.id).where(JournalEntry.state == "posted").limit(1)):
        raise ValidationFailed({"currency": ["The company currency cannot change once entries "
                                             "are posted."]})
    errors = {}
    for key in ("receivable_account_id", "payable_account_id"):
        if key in data and data[key] is not None:
            account = db.session.get(Account, data[key])
            wanted = key.split("_")[0]
            if account is None or account.control != wanted:
                errors[key] = [f"Choose an account marked as {wanted} control account."]
    for key, model in (("income_account_id", Account), ("expense_account_id", Account),
                       ("fx_account_id", Account), ("sale_journal_id", Journal),
                       ("purchase_journal_id", Journal), ("bank_journal_id", Journal),
                       ("misc_journal_id", Journal), ("sale_tax_id", Tax), ("purchase_tax_id", Tax)):
        if data.get(key) is not None and db.session.get(model, data[key]) is None:
            errors[key] = ["Not found."]
    if errors:
        raise ValidationFailed(errors)
    for key, value in data.items():
        setattr(settings, key, value)
    db.session.flush()
    return settings


def setting_account(attr: str) -> Account:
    account_id = getattr(get_settings(), attr)
    account = db.session.get(Account, account_id) if account_id else None
    if account is None:
        raise RuleViolation(f"the finance settings name no {attr.removesuffix('_id').replace('_', ' ')}",
                            code="settings_incomplete")
    return account


def setting_journal(attr: str) -> Journal:
    journal_id = getattr(get_settings(), attr)
    journal = db.session.get(Journal, journal_id) if journal_id else None
    if journal is None:
        raise RuleViolation(f"the finance settings name no {attr.removesuffix('_id').replace('_', ' ')}",
                            code="settings_incomplete")
    return journal


# --- chart, journals, taxes, terms (plain records) ---

ACCOUNT_FIELDS = ("code", "name", "type", "control", "active")


def create_account(data: dict) -> Account:
    """Add an account to the chart; codes are unique."""
    from core.records import ensure_unique

    data = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
    ensure_unique(Account.code, data.get("code"), None, "code", "Account {id} has this code.")
    account = Account(**data)
    db.session.add(account)
    db.session.flush()
    return account


def update_account(account: Account, data: dict) -> Account:
    """Change an account. Its type and control kind are fixed once it has posted lines."""
    from core.records import ensure_unique

    data = {k: v for k, v in data.items() if k in ACCOUNT_FIELDS}
    if "code" in data:
        ensure_unique(Account.code, data["code"], account.id, "code", "Account {id} has this code.")
    used = db.session.scalar(sa.select(JournalLine.id).where(JournalLine.account_id == account.id).limit(1))
    for key in ("type", "control"):
        if key in data and data[key] != getattr(account, key) and used:
            raise ValidationFailed({key: ["This account has journal lines; its "
                                          f"{key} cannot change."]})
    for key, value in data.items():
        setattr(account, key, value)
    db.session.flush()
    return account


JOURNAL_FIELDS = ("code", "name", "type", "refund_code", "default_account_id", "active")


def create_journal(data: dict) -> Journal:
    """Add a journal; bank and cash journals need the account their money sits in."""
    from core.records import ensure_unique

    data = {k: v for k, v in data.items() if k in JOURNAL_FIELDS}
    ensure_unique(Journal.code, data.get("code"), None, "code", "Journal {id} has this code.")
    _check_journal(data)
    journal = Journal(**data)
    db.session.add(journal)
    db.session.flush()
    return journal


def update_journal(journal: Journal, data: dict) -> Journal:
    """Change a journal's name, codes, default account or active flag."""
    from core.records import ensure_unique

    data = {k: v for k, v in data.items() if k in JOURNAL_FIELDS}
    if "code" in data:
        ensure_unique(Journal.code, data["code"], journal.id, "code", "Journal {id} has this code.")
    if "type" in data and data["type"] != journal.type and journal.entry_count:
        raise ValidationFailed({"type": ["This journal has posted entries; its type cannot change."]})
    _check_journal({"type": journal.type, "default_account_id": journal.default_account_id, **data})
    for key, value in data.items():
        setattr(journal, key, value)
    db.session.flush()
    return journal


def _check_journal(data: dict) -> None:
    if data.get("type") in ("bank", "cash"):
        account = db.session.get(Account, data.get("default_account_id") or 0)
        if account is None:
            raise ValidationFailed({"default_account_id": ["Bank and cash journals need the "
                                                           "account their money sits in."]})
        if account.control:
            raise ValidationFailed({"default_account_id": ["Choose an account that is not a "
                                                           "receivable or payable account."]})
    elif data.get("default_account_id") and db.session.get(Account, data["default_account_id"]) is None:
        raise ValidationFailed({"default_account_id": ["Not found."]})


TAX_FIELDS = ("name", "rate", "price_included", "scope", "account_id", "active")


def create_tax(data: dict) -> Tax:
    """Add a tax rate with the account its amounts go to."""
    from core.records import ensure_unique

    data = {k: v for k, v in data.items() if k in TAX_FIELDS}
    ensure_unique(Tax.name, data.get("name"), None, "name", "Tax {id} has this name.")
    _check_account_ref(data.get("account_id"), "account_id")
    tax = Tax(**data)
    db.session.add(tax)
    db.session.flush()
    return tax


def update_tax(tax: Tax, data: dict) -> Tax:
    """Change a tax. Documents already posted keep the amounts they were posted with."""
    from core.records import ensure_unique

    data = {k: v for k, v in data.items() if k in TAX_FIELDS}
    if "name" in data:
        ensure_unique(Tax.name, data["name"], tax.id, "name", "Tax {id} has this name.")
    if "account_id" in data:
        _check_account_ref(data["account_id"], "account_id")
    for key, value in data.items():
        setattr(tax, key, value)
    db.session.flush()
    return tax


def _check_account_ref(account_id, field: str) -> Account:
    account = db.session.get(Account, account_id) if account_id else None
    if account is None:
        raise ValidationFailed({field: ["Choose an account."]})
    return account


# --- fiscal years, lock date ---


def create_fiscal_year(data: dict) -> FiscalYear:
    """Open a fiscal year; years never overlap."""
    from core.records import ensure_unique

    start, end = data.get("date_start"), data.get("date_end")
    if start and end and end <= start:
        raise ValidationFailed({"date_end": ["Must be after the start date."]})
    ensure_unique(FiscalYear.name, data.get("name"), None, "name", "Fiscal year {id} has this name.")
    if "/" in (data.get("name") or ""):
        raise ValidationFailed({"name": ["Entry numbers contain the name: no '/'."]})
    _check_overlap(start, end, None)
    year = FiscalYear(name=data["name"], date_start=start, date_end=end,
                      state=data.get("state", "open"))
    db.session.add(year)
    db.session.flush()
    return year


def update_fiscal_year(year: FiscalYear, data: dict) -> FiscalYear:
    """Rename, close or reopen a fiscal year; its dates are fixed once it has entries."""
    from core.records import ensure_unique

    if "name" in data:
        ensure_unique(FiscalYear.name, data["name"], year.id, "name", "Fiscal year {id} has this name.")
        if "/" in data["name"]:
            raise ValidationFailed({"name": ["Entry numbers contain the name: no '/'."]})
    start, end = data.get("date_start", year.date_start), data.get("date_end", year.date_end)
    if (start, end) != (year.date_start, year.date_end):
        if db.session.scalar(sa.select(JournalEntry.id).where(JournalEntry.fiscal_year_id == year.id).limit(1)):
            raise ValidationFailed({"date_start": ["This year has posted entries; its dates are fixed."]})
        if end <= start:
            raise ValidationFailed({"date_end": ["Must be after the start date."]})
        _check_overlap(start, end, year.id)
    for key in ("name", "date_start", "date_end", "state"):
        if key in data:
            setattr(year, key, data[key])
    db.session.flush()
    return year


def _check_overlap(start, end, exclude_id) -> None:
    clash = db.session.scalar(sa.select(FiscalYear).where(
        FiscalYear.date_start <= end, FiscalYear.date_end >= start,
        FiscalYear.id != (exclude_id or -1)))
    if clash:
        raise ValidationFailed({"date_start": [f"Overlaps fiscal year {clash.name}."]})


def fiscal_year_for(date: dt.date) -> FiscalYear:
    """The open fiscal year holding ``date``; a calendar year is opened when none holds it."""
    def holding():
        return db.session.scalar(sa.select(FiscalYear).where(FiscalYear.date_start <= date,
                                                             FiscalYear.date_end >= date))

    year = holding()
    if year is None:
        start, end = dt.date(date.year, 1, 1), dt.date(date.year, 12, 31)
        # Concurrent first postings of a year may all get here: one insert wins, and a
        # year another transaction just opened counts as an overlap but also holds the date.
        if not db.session.scalar(sa.select(FiscalYear.id).where(FiscalYear.date_start <= end,
                                                                FiscalYear.date_end >= start)):
            now = utcnow()
            db.session.execute(_insert(FiscalYear).values(
                name=str(date.year), date_start=start, date_end=end, state="open", created_at=now,
                updated_at=now).on_conflict_do_nothing(index_elements=["name"]))
        year = holding()
        if year is None:
            raise RuleViolation(f"no fiscal year holds {date.isoformat()}; create one first",
                                code="no_fiscal_year")
    if year.state != "open":
        raise RuleViolation(f"fiscal year {year.name} is closed", code="fiscal_year_closed")
    return year


def check_lock_date(date: dt.date) -> None:
    """Refuse to post on or before the lock date."""
    lock = get_settings().lock_date
    if lock is not None and date <= lock:
        raise RuleViolation(f"the books are locked up to {lock.isoformat()}: nothing can be "
                            f"posted on {date.isoformat()}", code="period_locked",
                            details={"lock_date": lock.isoformat()})


# --- exchange rates ---


def company_currency() -> str:
    return get_settings().currency


def rate_for(currency: str, date: dt.date) -> Decimal:
    """Company-currency value of one unit of ``currency`` on ``date`` (latest rate on or before)."""
    if currency == company_currency():
        return Decimal(1)
    rate = db.session.scalar(sa.select(ExchangeRate.rate).where(
        ExchangeRate.currency == currency, ExchangeRate.date <= date)
        .order_by(ExchangeRate.date.desc()).limit(1))
    if rate is None:
        raise RuleViolation(f"no exchange rate for {currency} on or before {date.isoformat()}; "
                            f"add one under Exchange rates", code="no_exchange_rate")
    return rate


def rates_for(pairs) -> dict[tuple[str, dt.date], Decimal]:
    """``rate_for`` of every ``(currency, date)`` in ``pairs`` that has a rate on or before its
    date (the others are left out), in one query per currency: for reports that convert many
    amounts, each at the rate of its own date."""
    company, wanted, found = company_currency(), {}, {}
    for currency, date in pairs:
        wanted.setdefault(currency, set()).add(date)
    for currency, dates in wanted.items():
        if currency == company:
            found.update({(currency, date): Decimal(1) for date in dates})
            continue
        known = db.session.execute(sa.select(ExchangeRate.date, ExchangeRate.rate).where(
            ExchangeRate.currency == currency, ExchangeRate.date <= max(dates))
            .order_by(ExchangeRate.date)).all()
        days = [day for day, _ in known]
        for date in dates:
            index = bisect.bisect_right(days, date)
            if index:
                found[(currency, date)] = known[index - 1][1]
    return found


def _check_rate_day(currency: str, date: dt.date, exclude_id: int | None) -> None:
    """A foreign currency has at most one rate a day."""
    if currency == company_currency():
        raise ValidationFailed({"currency": ["The company currency has no exchange rate."]})
    taken = sa.select(ExchangeRate.id).where(ExchangeRate.currency == currency, ExchangeRate.date == date)
    if exclude_id is not None:
        taken = taken.where(ExchangeRate.id != exclude_id)
    if db.session.scalar(taken):
        raise ValidationFailed({"date": ["This currency already has a rate on this date."]})


def create_exchange_rate(data: dict) -> ExchangeRate:
    """Record a rate: one unit of ``currency`` in the company currency from ``date`` on."""
    _check_rate_day(data["currency"], data["date"], None)
    rate = ExchangeRate(currency=data["currency"], date=data["date"], rate=data["rate"])
    db.session.add(rate)
    db.session.flush()
    return rate


def update_exchange_rate(rate: ExchangeRate, data: dict) -> ExchangeRate:
    """Correct a rate; documents already posted keep the rate they were posted with."""
    _check_rate_day(data.get("currency", rate.currency), data.get("date", rate.date), rate.id)
    for key in ("currency", "date", "rate"):
        if key in data:
            setattr(rate, key, data[key])
    db.session.flush()
    return rate


# --- journal entries ---


def get_entry(entry_id: int) -> JournalEntry:
    entry = db.session.get(JournalEntry, entry_id)
    if entry is None:
        raise NotFound(f"journal entry {entry_id} not found")
    return entry


def get_journal(journal_id: int) -> Journal:
    journal = db.session.get(Journal, journal_id)
    if journal is None:
        raise NotFound(f"journal {journal_id} not found")
    return journal


def _manual_lines(rows: list[dict]) -> list[JournalLine]:
    """Lines typed by a person: no control accounts (documents post to those)."""
    from plugins.erp_finance.models import Customer, Supplier

    errors, lines, currency = {}, [], company_currency()
    for i, row in enumerate(rows):
        problems = {}
        account = db.session.get(Account, row.get("account_id") or 0)
        if account is None:
            problems["account_id"] = ["Choose an account."]
        elif account.control:
            problems["account_id"] = [f"{account.label} is the {account.control} control "
                                      f"account: post invoices, bills and payments instead."]
        elif not account.active:
            problems["account_id"] = [f"{account.label} is archived."]
        debit, credit = row.get("debit") or ZERO, row.get("credit") or ZERO
        try:
            debit, credit = money(debit, "debit"), money(credit, "credit")
        except ValidationFailed as exc:
            problems.update(exc.errors)
        else:
            if debit < 0 or credit < 0:
                problems["debit"] = ["Amounts cannot be negative."]
            elif debit and credit:
                problems["debit"] = ["A line is either a debit or a credit."]
            elif not debit and not credit:
                problems["debit"] = ["Enter a debit or a credit."]
        if row.get("customer_id") and db.session.get(Customer, row["customer_id"]) is None:
            problems["customer_id"] = ["Customer not found."]
        if row.get("supplier_id") and db.session.get(Supplier, row["supplier_id"]) is None:
            problems["supplier_id"] = ["Supplier not found."]
        if problems:
            errors[i] = problems
            continue
        lines.append(JournalLine(sequence=i, account_id=account.id, description=row.get("description"),
                                 customer_id=row.get("customer_id"), supplier_id=row.get("supplier_id"),
                                 debit=debit, credit=credit, currency=currency,
                                 amount_currency=debit - credit))
    if errors:
        raise ValidationFailed({"lines": errors})
    if len(lines) < 2:
        raise ValidationFailed({"lines": ["An entry needs at least two lines."]})
    return lines


def create_entry(data: dict) -> JournalEntry:
    """A draft manual entry (journal, date, reference, lines); ``post=True`` posts it at once."""
    journal = db.session.get(Journal, data.get("journal_id") or 0)
    if journal is None:
        raise ValidationFailed({"journal_id": ["Choose a journal."]})
    if not journal.active:
        raise ValidationFailed({"journal_id": [f"Journal {journal.code} is archived."]})
    entry = JournalEntry(journal_id=journal.id, date=data.get("date") or today(), ref=data.get("ref"),
                         narration=data.get("narration"), source="manual",
                         currency=company_currency(), state="draft")
    entry.lines = _manual_lines(data.get("lines") or [])
    db.session.add(entry)
    db.session.flush()
    if data.get("post"):
        post_entry(entry)
    return entry


def update_entry(entry: JournalEntry, data: dict) -> JournalEntry:
    """Change a draft entry (its lines are replaced when given)."""
    lock(entry)
    require_state(entry, ("draft",), "changed (reverse it instead)")
    if entry.source != "manual":
        raise RuleViolation("this entry belongs to a document; change the document",
                            code="entry_has_document")
    if "journal_id" in data:
        if db.session.get(Journal, data["journal_id"] or 0) is None:
            raise ValidationFailed({"journal_id": ["Choose a journal."]})
        entry.journal_id = data["journal_id"]
    for key in ("date", "ref", "narration"):
        if key in data:
            setattr(entry, key, data[key])
    if "lines" in data:
        entry.lines = _manual_lines(data["lines"] or [])
    db.session.flush()
    return entry


def delete_entry(entry: JournalEntry) -> None:
    """Delete a draft entry; posted entries are never deleted (reverse them)."""
    lock(entry)
    require_state(entry, ("draft",), "deleted (reverse it instead)")
    db.session.delete(entry)
    db.session.flush()


@state_change(JournalEntry, "post", states=("draft",))
def post_entry(entry: JournalEntry, prefix: str | None = None) -> JournalEntry:
    """Post a draft entry: balanced, after the lock date, numbered, chained, immutable."""
    lines = list(entry.lines)
    if len(lines) < 2:
        raise RuleViolation("an entry needs at least two lines", code="entry_incomplete")
    debit = sum((line.debit for line in lines), ZERO)
    credit = sum((line.credit for line in lines), ZERO)
    for line in lines:
        if line.debit < 0 or line.credit < 0 or (line.debit and line.credit) \
                or line.debit != q(line.debit) or line.credit != q(line.credit):
            raise RuleViolation("each line is a positive debit or a positive credit, in cents",
                                code="entry_invalid_line")
    if debit != credit:
        raise RuleViolation(f"the entry does not balance: debits {debit} and credits {credit} "
                            f"differ by {abs(debit - credit)}", code="entry_unbalanced",
                            details={"debit": str(debit), "credit": str(credit)})
    if debit == 0:
        raise RuleViolation("the entry has no amount", code="entry_empty")
    check_lock_date(entry.date)
    year = fiscal_year_for(entry.date)
    journal = lock_by_id(Journal, entry.journal_id)
    prefix = prefix or journal.code
    number = next_number(journal.id, year.id, prefix)
    db.session.flush()  # line ids exist: the hash lists lines in a stable order
    entry.number = f"{prefix}/{year.name}/{number:05d}"
    entry.fiscal_year_id = year.id
    entry.total_debit, entry.total_credit = debit, credit
    entry.posted_at, entry.posted_by = utcnow(), actor_id()
    entry.chain_index = journal.entry_count + 1
    entry.prev_hash = journal.last_hash or ""
    entry.hash = entry_hash(entry, lines)
    entry.state = "posted"
    journal.entry_count, journal.last_hash = entry.chain_index, entry.hash
    DAY_SUMS.add(db.session, [(line.account_id, entry.date, line.debit, line.credit) for line in lines])
    db.session.flush()
    return entry


def _add_to_day_sums(connection, moves: list) -> None:
    """Add a transaction's posted debits and credits to the accounts' daily sums: one
    upsert, rows in key order (two transactions lock them in the same order)."""
    sums: dict[tuple[int, dt.date], list[Decimal]] = {}
    for account_id, day, debit, credit in moves:
        both = sums.setdefault((account_id, day), [ZERO, ZERO])
        both[0] += debit
        both[1] += credit
    rows = [{"account_id": account_id, "day": day, "debit": debit, "credit": credit}
            for (account_id, day), (debit, credit) in sorted(sums.items())]
    insert = _insert(AccountDay)
    connection.execute(insert.values(rows).on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={"debit": AccountDay.debit + insert.excluded.debit,
              "credit": AccountDay.credit + insert.excluded.credit}))


#: The posted moves of the transaction, added to ``finance_account_day`` at its commit.
DAY_SUMS = PendingRows("finance_account_day", _add_to_day_sums)


def day_sums_written() -> None:
    """Write the transaction's pending daily sums before reading them (reports)."""
    DAY_SUMS.write_now(db.session)


def day_sums_from_lines():
    """The daily sums computed from the posted lines themselves: what ``finance_account_day``
    must hold (``verify_ledger`` compares; ``rebuild_day_sums`` writes them)."""
    return (sa.select(JournalLine.account_id, JournalEntry.date.label("day"),
                      sa.func.sum(JournalLine.debit).label("debit"),
                      sa.func.sum(JournalLine.credit).label("credit"))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalEntry.state == "posted").group_by(JournalLine.account_id, JournalEntry.date))


def rebuild_day_sums() -> None:
    """Recompute every daily sum from the posted lines (entries loaded in bulk, not posted)."""
    db.session.execute(sa.delete(AccountDay))
    db.session.execute(sa.insert(AccountDay).from_select(["account_id", "day", "debit", "credit"],
                                                         day_sums_from_lines()))


def _insert(model):
    """INSERT that can ``on_conflict_do_nothing`` (both dialects have it)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def next_number(journal_id: int, fiscal_year_id: int, prefix: str) -> int:
    """Take the next number of a series, holding its row locked until the transaction ends."""
    def locked():
        return db.session.execute(
            sa.select(Sequence).where(Sequence.journal_id == journal_id,
                                      Sequence.fiscal_year_id == fiscal_year_id,
                                      Sequence.prefix == prefix)
            .with_for_update(key_share=True).execution_options(populate_existing=True)).scalar_one_or_none()

    sequence = locked()
    if sequence is None:
        db.session.execute(_insert(Sequence).values(
            journal_id=journal_id, fiscal_year_id=fiscal_year_id, prefix=prefix, next_number=1)
            .on_conflict_do_nothing(index_elements=["journal_id", "fiscal_year_id", "prefix"]))
        sequence = locked()
    number = sequence.next_number
    sequence.next_number = number + 1
    return number


def entry_hash(entry: JournalEntry, lines) -> str:
    """SHA-256 of the entry's content and the previous entry's hash in its journal."""
    def text(value) -> str:
        return str(q(value)) if value is not None else ""

    payload = {
        "prev": entry.prev_hash or "", "journal": entry.journal_id, "index": entry.chain_index,
        "number": entry.number, "date": entry.date.isoformat(), "ref": entry.ref or "",
        "currency": entry.currency, "reversal_of": entry.reversal_of_id,
        "lines": [[line.account_id, line.customer_id, line.supplier_id, text(line.debit),
                   text(line.credit), line.currency, text(line.amount_currency),
                   line.description or ""]
                  for line in sorted(lines, key=lambda ln: (ln.sequence, ln.id or 0))],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def reversal_of(entry: JournalEntry) -> JournalEntry | None:
    """The entry that reverses ``entry``, if any."""
    return db.session.scalar(sa.select(JournalEntry).where(JournalEntry.reversal_of_id == entry.id))


@state_change(JournalEntry, "reverse", states=("posted",))
def reverse_entry(entry: JournalEntry, date: dt.date | None = None, reason: str | None = None,
                  allow_document: bool = False) -> JournalEntry:
    """Post the mirror image of a posted entry (debits and credits swapped).

    Entries of invoices and payments are corrected through their documents (credit
    note, payment cancellation), which call this with ``allow_document``.
    """
    if not allow_document and entry.source not in ("manual", "reversal"):
        raise RuleViolation(f"{entry.number} belongs to a document: issue a credit note or "
                            f"cancel the payment instead", code="entry_has_document")
    existing = reversal_of(entry)
    if existing is not None:
        raise RuleViolation(f"{entry.number} is already reversed by {existing.number}",
                            code="entry_already_reversed")
    reversal = JournalEntry(journal_id=entry.journal_id, date=date or max(entry.date, today()),
                            ref=f"Reversal of {entry.number}", narration=reason,
                            source="reversal" if entry.source in ("manual", "reversal") else entry.source,
                            currency=entry.currency, reversal_of_id=entry.id, state="draft")
    reversal.lines = [JournalLine(sequence=line.sequence, account_id=line.account_id,
                                  customer_id=line.customer_id, supplier_id=line.supplier_id,
                                  description=line.description, debit=line.credit,
                                  credit=line.debit, currency=line.currency,
                                  amount_currency=-line.amount_currency) for line in entry.lines]
    db.session.add(reversal)
    db.session.flush()
    return post_entry(reversal)


def post_lines(journal: Journal, date: dt.date, ref: str, currency: str, source: str,
               lines: list[JournalLine], prefix: str | None = None) -> JournalEntry:
    """Create and post an entry from lines a document computed."""
    entry = JournalEntry(journal_id=journal.id, date=date, ref=ref, source=source,
                         currency=currency, state="draft")
    for i, line in enumerate(lines):
        line.sequence = i
    entry.lines = lines
    db.session.add(entry)
    db.session.flush()
    return post_entry(entry, prefix=prefix)


# --- verifying the hash chains ---


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking one journal's chain: ``problem`` is None when intact."""

    journal: str
    entries: int
    problem: str | None = None
    entry_id: int | None = None
    entry_number: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_ledger() -> list[ChainCheck]:
    """Recompute every journal's hash chain; report the first tampered entry of each, and
    check the accounts' daily sums the reports read against the posted lines."""
    from sqlalchemy.orm import selectinload

    results = []
    for journal in db.session.scalars(sa.select(Journal).order_by(Journal.code)):
        prev, count, problem = "", 0, None
        stmt = (sa.select(JournalEntry).where(JournalEntry.journal_id == journal.id,
                                              JournalEntry.state == "posted")
                .order_by(JournalEntry.chain_index).options(selectinload(JournalEntry.lines))
                .execution_options(populate_existing=True))
        for entry in db.session.scalars(stmt):
            count += 1
            lines = entry.lines
            debit = sum((ln.debit for ln in lines), ZERO)
            credit = sum((ln.credit for ln in lines), ZERO)
            if entry.chain_index != count:
                problem = f"chain index {entry.chain_index} where {count} was expected (an entry was removed or inserted)"
            elif (entry.prev_hash or "") != prev:
                problem = "its previous-hash does not match the entry before it"
            elif entry_hash(entry, lines) != entry.hash:
                problem = "its content no longer matches its hash (changed after posting)"
            elif debit != credit or debit != entry.total_debit:
                problem = f"it does not balance (debits {debit}, credits {credit})"
            if problem:
                results.append(ChainCheck(journal.code, count, problem, entry.id, entry.number))
                break
            prev = entry.hash
        else:
            if journal.entry_count != count or (journal.last_hash or "") != prev:
                problem = (f"the journal records {journal.entry_count} posted entries ending in "
                           f"{(journal.last_hash or '')[:12]}, the chain has {count} (entries removed)")
            results.append(ChainCheck(journal.code, count, problem))
    results.append(_check_day_sums())
    return results


def _check_day_sums() -> ChainCheck:
    """The kept daily sums of the accounts against the posted lines they sum."""
    day_sums_written()
    lines = {(r.account_id, r.day): (q(r.debit), q(r.credit))
             for r in db.session.execute(day_sums_from_lines())}
    kept = {(r.account_id, r.day): (q(r.debit), q(r.credit)) for r in db.session.execute(
        sa.select(AccountDay.account_id, AccountDay.day, AccountDay.debit, AccountDay.credit))}
    for key in sorted(lines.keys() | kept.keys()):
        if lines.get(key, (ZERO, ZERO)) != kept.get(key, (ZERO, ZERO)):
            account = db.session.get(Account, key[0])
            return ChainCheck("day sums", len(kept), (
                f"account {account.code if account else key[0]} on {key[1].isoformat()}: the entries "
                f"sum to {lines.get(key, (ZERO, ZERO))}, the reports read {kept.get(key, (ZERO, ZERO))}"))
    return ChainCheck("day sums", len(kept))
