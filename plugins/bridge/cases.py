"""CRM cases resolved with a credit: the credit note agreed, posted in finance in the
resolution's own transaction.

The credit is structured, never read from the resolution's words: one of the posted
invoices of the case account's customer, what of it to credit (the whole invoice, chosen
lines and quantities, or an amount spread over its taxes) and a reason. Finance builds
the lines, each with the tax of what it credits, so posting reverses the output tax too.
A resolution without a credit stays a CRM note.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from core.db import db
from core.errors import NotFound, TandemError, ValidationFailed
from core.states import InvalidState, lock
from plugins.bridge import services
from plugins.bridge.models import CaseCredit
from plugins.crm.models import Case
from plugins.crm.services import resolve_case as resolve_in_crm

CREDIT_PERMISSION = "bridge.case.credit"


def creditable_invoices(account_id: int | None) -> list:
    """The posted invoices of an account's customer with something left to credit, newest
    first, with their lines (none without finance or without a customer)."""
    if account_id is None or not services.installed("erp_finance"):
        return []
    customer_id = services.account_customer_id(account_id)
    return services.finance().creditable_invoices(customer_id) if customer_id else []


def resolve_case(case: Case, resolution: str, credit: dict | None = None) -> Case:
    """Resolve ``case`` (CRM's ``resolve_case``) and, with ``credit`` (``invoice_id``,
    ``mode``: whole, lines or amount, ``lines`` or ``amount``, ``reason``), issue and post
    the credit note it agreed, in the same transaction: both happen or neither.

    Refused with 422 (field under ``credit``) for an invoice that is not one of the
    account's posted invoices, or a credit above what it has left to credit. The case is
    locked first: the same resolution sent twice has one effect, and a case resolved
    without a credit cannot be credited later (409).
    """
    if credit is None:
        return resolve_in_crm(case, resolution)
    _may_credit()
    case = lock(case)
    if case.status in ("resolved", "closed"):
        if credit_of_case(case.id) is None:
            raise InvalidState(f"Case {case.id} is {case.status} without a credit note: it cannot be "
                               f"credited now.", state=case.status)
        return case  # resolved with its credit note already: a repeat changes nothing
    fin = services.finance()
    invoice = _invoice(case, credit["invoice_id"])
    rows = _lines(invoice, credit)
    case = resolve_in_crm(case, resolution)
    credit_note = fin.create_credit_note(invoice, {
        "lines": rows, "reason": credit["reason"].strip(), "reference": f"Case #{case.id}", "post": True})
    db.session.add(CaseCredit(case_id=case.id, invoice_id=invoice.id, credit_note_id=credit_note.id,
                              number=credit_note.number, amount=credit_note.amount_total,
                              currency=credit_note.currency))
    db.session.flush()
    return case


def credit_of_case(case_id: int) -> CaseCredit | None:
    """The credit note a case caused, if any."""
    return db.session.scalar(sa.select(CaseCredit).where(CaseCredit.case_id == case_id))


def _may_credit() -> None:
    if has_request_context() and current_user.is_authenticated and not current_user.can(CREDIT_PERMISSION):
        error = TandemError(f"Forbidden: permission {CREDIT_PERMISSION!r} required", code="forbidden")
        error.status = 403
        raise error


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({"credit": {field: [message]}})


def _invoice(case: Case, invoice_id: int):
    """The invoice to credit: a posted invoice of the case account's customer (else 422)."""
    fin = services.finance()
    if case.account_id is None:
        raise _refused("invoice_id", "The case has no account: there is no customer to credit.")
    try:
        invoice = fin.get_invoice(invoice_id, ("out_invoice",))
    except NotFound:
        raise _refused("invoice_id", f"No customer invoice {invoice_id}.") from None
    customer_id = services.account_customer_id(case.account_id)
    if customer_id is None or invoice.customer_id != customer_id:
        raise _refused("invoice_id", f"{invoice.label} is not an invoice of {case.account_name}.")
    if invoice.state not in fin.CREDITABLE:
        raise _refused("invoice_id", f"{invoice.label} is not posted ({invoice.state}).")
    return invoice


def _lines(invoice, credit: dict) -> list[dict]:
    """Finance's lines for what ``credit`` credits of ``invoice``; its refusals under ``credit``."""
    mode = credit["mode"]
    try:
        return services.finance().credit_note_lines(
            invoice, lines=credit.get("lines") if mode == "lines" else None,
            amount=credit.get("amount") if mode == "amount" else None)
    except ValidationFailed as exc:
        errors = exc.errors if mode != "whole" else {"mode": [m for found in exc.errors.values() for m in found]}
        raise ValidationFailed({"credit": errors}) from exc
