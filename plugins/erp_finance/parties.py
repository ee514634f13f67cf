"""Customers, suppliers and payment terms."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound, ValidationFailed
from core.records import ensure_unique
from core.states import lock_by_id
from plugins.erp_finance import ledger
from plugins.erp_finance.models import Customer, PaymentTerm, Supplier

FIELDS = ("name", "tax_id", "email", "billing_address", "currency", "payment_terms_days",
          "credit_limit", "payment_term_id")


def normalise_name(name: str) -> str:
    """A name reduced for matching: lower case, no punctuation, no legal-form suffix."""
    words = re.sub(r"[^a-z0-9 ]", " ", (name or "").lower()).split()
    suffixes = {"inc", "ltd", "llc", "gmbh", "sa", "sarl", "bv", "ab", "oy", "plc", "co", "corp"}
    return " ".join(w for w in words if w not in suffixes)


def _clean(model, data: dict, exclude_id: int | None = None) -> dict:
    data = {k: v for k, v in data.items() if k in FIELDS}
    if "tax_id" in data:  # blank means none: a tax id, when given, is unique
        data["tax_id"] = (data["tax_id"] or "").strip().upper() or None
    if data.get("tax_id"):
        label = model.__name__
        ensure_unique(model.tax_id, data["tax_id"], exclude_id, "tax_id",
                      label + " {id} already has this tax id.")
    if data.get("payment_term_id") is not None and db.session.get(PaymentTerm, data["payment_term_id"]) is None:
        raise ValidationFailed({"payment_term_id": ["Payment term not found."]})
    return data


def create_customer(data: dict) -> Customer:
    """Create a customer; a tax id may belong to one customer only."""
    customer = Customer(**_clean(Customer, data))
    db.session.add(customer)
    db.session.flush()
    return customer


def update_customer(customer: Customer, data: dict) -> Customer:
    """Change a customer's fields."""
    for key, value in _clean(Customer, data, customer.id).items():
        setattr(customer, key, value)
    db.session.flush()
    return customer


def get_customer(customer_id: int) -> Customer:
    """A customer by id, or ``NotFound``."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


def lock_customer(customer_id: int) -> Customer:
    """A customer, its row locked until the transaction ends (``SELECT ... FOR UPDATE``).

    A credit check that holds it sees every sale committed before it, and a concurrent
    check of the same customer waits until this transaction has committed its own.
    """
    get_customer(customer_id)
    return lock_by_id(Customer, customer_id)


def find_customer(tax_id: str | None = None, name: str | None = None) -> Customer | None:
    """The customer with this tax id, else the one whose normalised name matches."""
    if tax_id:
        found = db.session.scalar(sa.select(Customer).where(Customer.tax_id == tax_id.strip().upper()))
        if found:
            return found
    if name:
        wanted = normalise_name(name)
        first_word = wanted.split(" ", 1)[0] if wanted else ""
        candidates = db.session.scalars(sa.select(Customer).where(
            Customer.name.ilike(f"%{first_word}%"))) if first_word else []
        for customer in candidates:
            if normalise_name(customer.name) == wanted:
                return customer
    return None


def create_supplier(data: dict) -> Supplier:
    """Create a supplier; a tax id may belong to one supplier only."""
    supplier = Supplier(**_clean(Supplier, data))
    db.session.add(supplier)
    db.session.flush()
    return supplier


def update_supplier(supplier: Supplier, data: dict) -> Supplier:
    """Change a supplier's fields."""
    for key, value in _clean(Supplier, data, supplier.id).items():
        setattr(supplier, key, value)
    db.session.flush()
    return supplier


def get_supplier(supplier_id: int) -> Supplier:
    """A supplier by id, or ``NotFound``."""
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(f"supplier {supplier_id} not found")
    return supplier


# --- payment terms ---

_PART = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*(?:(?:in\s+)?(\d+)\s*d(?:ays?)?(?:\s+net)?|now|immediately?)\s*$",
                   re.IGNORECASE)


def parse_schedule(text: str) -> list[tuple[Decimal, int]]:
    """``"50% now, 50% 30d"`` -> ``[(50, 0), (50, 30)]``; the percentages must make 100."""
    parts = []
    for chunk in (text or "").split(","):
        match = _PART.match(chunk)
        if not match:
            raise ValidationFailed({"schedule": [f"Cannot read {chunk.strip()!r}: write parts like "
                                                 f"'100% 30d' or '50% now, 50% 30d'."]})
        percent, days = Decimal(match.group(1)), int(match.group(2) or 0)
        if percent <= 0 or days > 3650:
            raise ValidationFailed({"schedule": ["Each part needs a positive share and at most 3650 days."]})
        parts.append((percent, days))
    if sum(p for p, _ in parts) != 100:
        raise ValidationFailed({"schedule": ["The shares must add up to 100%."]})
    return sorted(parts, key=lambda part: part[1])


def create_payment_term(data: dict) -> PaymentTerm:
    """A payment term from its schedule text."""
    parse_schedule(data.get("schedule", ""))
    ensure_unique(PaymentTerm.name, data.get("name"), None, "name", "Payment term {id} has this name.")
    term = PaymentTerm(name=data["name"], schedule=data["schedule"].strip(),
                       active=data.get("active", True))
    db.session.add(term)
    db.session.flush()
    return term


def update_payment_term(term: PaymentTerm, data: dict) -> PaymentTerm:
    """Change a payment term; posted documents keep the due dates they were given."""
    if "schedule" in data:
        parse_schedule(data["schedule"])
    if "name" in data:
        ensure_unique(PaymentTerm.name, data["name"], term.id, "name", "Payment term {id} has this name.")
    for key in ("name", "schedule", "active"):
        if key in data:
            setattr(term, key, data[key].strip() if key == "schedule" else data[key])
    db.session.flush()
    return term


def installments(total: Decimal, date: dt.date, term: PaymentTerm | None = None,
                 days: int = 0) -> list[tuple[dt.date, Decimal]]:
    """Due dates and amounts of ``total`` from ``date``: the term's parts, else net ``days``.

    Parts are rounded to the cent; the last part takes the rounding remainder.
    """
    parts = parse_schedule(term.schedule) if term is not None else [(Decimal(100), days)]
    result, left = [], total
    for i, (percent, part_days) in enumerate(parts):
        amount = left if i == len(parts) - 1 else (total * percent / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        left -= amount
        result.append((date + dt.timedelta(days=part_days), amount))
    return result
