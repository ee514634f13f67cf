"""CRM case events: a case resolved with a credit becomes a posted credit note in finance.

Convention: the resolution names the credit and the invoice it corrects, e.g.
"credit 120.00 on INV/2026/00007" (also "credit of 120 on invoice INV/2026/00007").
A resolution without that phrase, or on a case without an account, is left alone; with
an account, the invoice must exist and be that account's customer's (else the resolution
is refused with the reason).
"""
from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import RuleViolation
from plugins.bridge import services
from plugins.bridge.models import CaseCredit

CREDIT = re.compile(r"\bcredit\s+(?:of\s+)?(\d+(?:\.\d{1,2})?)(?:\s*[A-Z]{3})?\s+on\s+(?:invoice\s+)?(\S+)",
                    re.IGNORECASE)


def parse_credit(resolution: str) -> tuple[Decimal, str] | None:
    """(amount, invoice number) named by a resolution, or None."""
    match = CREDIT.search(resolution or "")
    return (Decimal(match.group(1)), match.group(2).rstrip(".,;")) if match else None


def case_resolved(event) -> CaseCredit | None:
    """Issue and post the credit note a resolution names, linked to the case (once)."""
    found = parse_credit(event.resolution)
    # without an account there is no customer to credit: the resolution stays a CRM note
    if found is None or event.account_id is None or not services.installed("erp_finance"):
        return None
    existing = db.session.scalar(sa.select(CaseCredit).where(CaseCredit.case_id == event.case_id))
    if existing is not None:
        return existing
    amount, number = found
    fin = services.finance()
    invoice = fin.invoice_by_number(number)
    if invoice is None:
        raise RuleViolation(f"credit note: no customer invoice {number}", code="bridge_credit_failed")
    link = services.link_for_account(event.account_id)
    if link is None or link.customer_id != invoice.customer_id:
        raise RuleViolation(f"credit note: invoice {number} is not this account's",
                            code="bridge_credit_failed")
    credit_note = fin.create_credit_note(invoice, {
        "lines": [{"description": f"Case #{event.case_id}: {event.subject}"[:300], "quantity": 1,
                   "unit_price": amount}],
        "reason": event.resolution, "reference": f"Case #{event.case_id}", "post": True})
    record = CaseCredit(case_id=event.case_id, invoice_id=invoice.id, credit_note_id=credit_note.id,
                        number=credit_note.number, amount=credit_note.amount_total, currency=credit_note.currency)
    db.session.add(record)
    db.session.flush()
    return record


def credit_of_case(case_id: int) -> CaseCredit | None:
    """The credit note a case caused, if any."""
    return db.session.scalar(sa.select(CaseCredit).where(CaseCredit.case_id == case_id))
