"""Finance business operations; other plugins that depend on finance call these."""
from __future__ import annotations

import re

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound
from core.records import ensure_unique
from plugins.erp_finance.models import Customer

FIELDS = ("name", "tax_id", "email", "billing_address", "currency", "payment_terms_days",
          "credit_limit")


def normalise_name(name: str) -> str:
    """A name reduced for matching: lower case, no punctuation, no legal-form suffix."""
    words = re.sub(r"[^a-z0-9 ]", " ", (name or "").lower()).split()
    suffixes = {"inc", "ltd", "llc", "gmbh", "sa", "sarl", "bv", "ab", "oy", "plc", "co", "corp"}
    return " ".join(w for w in words if w not in suffixes)


def _check_tax_id(tax_id: str | None, exclude_id: int | None = None) -> None:
    ensure_unique(Customer.tax_id, tax_id, exclude_id, "tax_id", "Customer {id} already has this tax id.")


def create_customer(data: dict) -> Customer:
    """Create a customer; a tax id may belong to one customer only."""
    data = {k: v for k, v in data.items() if k in FIELDS}
    if data.get("tax_id"):
        data["tax_id"] = data["tax_id"].strip().upper()
    _check_tax_id(data.get("tax_id"))
    customer = Customer(**data)
    db.session.add(customer)
    db.session.flush()
    return customer


def update_customer(customer: Customer, data: dict) -> Customer:
    """Change a customer's fields."""
    data = {k: v for k, v in data.items() if k in FIELDS}
    if data.get("tax_id"):
        data["tax_id"] = data["tax_id"].strip().upper()
        _check_tax_id(data["tax_id"], customer.id)
    for key, value in data.items():
        setattr(customer, key, value)
    db.session.flush()
    return customer


def get_customer(customer_id: int) -> Customer:
    """A customer by id, or ``NotFound``."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


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
