"""Customer invoices and credit notes, vendor bills and supplier credit notes.

One model (``Invoice``) with a ``kind``; the customer side posts to the receivable
control account, the supplier side to the payable one, and a refund is the mirror of
its invoice. States: draft -> posted -> partially_paid -> paid; only drafts are
cancelled.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.events import emit
from core.states import lock, lock_by_id, require_state, state_change
from plugins.erp_finance import ledger
from plugins.erp_finance.hookspecs import CreditNoteIssued, InvoicePosted
from plugins.erp_finance.ledger import ZERO, q
from plugins.erp_finance.models import (KIND_LABELS, Account, Customer, Installment, Invoice,
                                        InvoiceLine, Journal, JournalLine, PaymentTerm, Supplier,
                                        Tax)
from plugins.erp_finance.parties import installments

HEADER_FIELDS = ("date", "currency", "payment_term_id", "reference", "notes", "journal_id")
CREDITABLE = ("posted", "partially_paid", "paid")  # the states an invoice is credited from
LINE_FIELDS = ("description", "product_ref", "quantity", "unit_price", "discount", "tax_id",
               "account_id")


def get_invoice(invoice_id: int, kinds: tuple[str, ...] | None = None) -> Invoice:
    """A document by id (of one of ``kinds`` when given), or ``NotFound``."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or (kinds and invoice.kind not in kinds):
        label = KIND_LABELS[kinds[0]].lower() if kinds else "document"
        raise NotFound(f"{label} {invoice_id} not found")
    return invoice


def compute_line(quantity: Decimal, unit_price: Decimal, discount: Decimal,
                 tax: Tax | None) -> tuple[Decimal, Decimal]:
    """(untaxed amount, tax amount) of a line, each rounded to the cent.

    With a price-included tax the unit price holds the tax: it is taken out of the gross.
    """
    gross = q(Decimal(quantity) * Decimal(unit_price) * (1 - Decimal(discount or 0) / 100))
    if tax is None:
        return gross, ZERO
    if tax.price_included:
        untaxed = q(gross / (1 + tax.rate / 100))
        return untaxed, gross - untaxed
    return gross, q(gross * tax.rate / 100)


def _party(kind: str, data: dict):
    if kind.startswith("out_"):
        customer = db.session.get(Customer, data.get("customer_id") or 0)
        if customer is None:
            raise ValidationFailed({"customer_id": ["Choose a customer."]})
        return customer
    supplier = db.session.get(Supplier, data.get("supplier_id") or 0)
    if supplier is None:
        raise ValidationFailed({"supplier_id": ["Choose a supplier."]})
    return supplier


def _build_lines(kind: str, rows: list[dict]) -> list[InvoiceLine]:
    scope = "sale" if kind.startswith("out_") else "purchase"
    default_account = ledger.get_settings().income_account_id if scope == "sale" \
        else ledger.get_settings().expense_account_id
    errors, lines = {}, []
    for i, row in enumerate(rows):
        problems = {}
        if not (row.get("description") or "").strip():
            problems["description"] = ["Describe the line."]
        quantity = Decimal(row.get("quantity") if row.get("quantity") is not None else 1)
        unit_price = Decimal(row.get("unit_price") if row.get("unit_price") is not None else 0)
        discount = Decimal(row.get("discount") or 0)
        if quantity <= 0:
            problems["quantity"] = ["Must be more than 0."]
        if unit_price < 0:
            problems["unit_price"] = ["Cannot be negative."]
        if not 0 <= discount <= 100:
            problems["discount"] = ["Between 0 and 100 (%)."]
        tax = None
        if row.get("tax_id"):
            tax = db.session.get(Tax, row["tax_id"])
            if tax is None or not tax.active:
                problems["tax_id"] = ["Tax not found."]
            elif tax.scope != scope:
                problems["tax_id"] = [f"{tax.name} is a {tax.scope} tax."]
        account = db.session.get(Account, row.get("account_id") or default_account or 0)
        if account is None:
            problems["account_id"] = ["Choose an account."]
        elif account.control:
            problems["account_id"] = ["Choose an income or expense account, not a control account."]
        if problems:
            errors[i] = problems
            continue
        untaxed, tax_amount = compute_line(quantity, unit_price, discount, tax)
        lines.append(InvoiceLine(sequence=i, description=row["description"].strip(),
                                 product_ref=row.get("product_ref"), quantity=quantity,
                                 unit_price=unit_price, discount=discount,
                                 tax_id=tax.id if tax else None, account_id=account.id,
                                 amount_untaxed=untaxed, amount_tax=tax_amount,
                                 amount_total=untaxed + tax_amount))
    if errors:
        raise ValidationFailed({"lines": errors})
    return lines


def _set_lines(invoice: Invoice, rows: list[dict]) -> None:
    invoice.lines = _build_lines(invoice.kind, rows)
    invoice.amount_untaxed = sum((ln.amount_untaxed for ln in invoice.lines), ZERO)
    invoice.amount_tax = sum((ln.amount_tax for ln in invoice.lines), ZERO)
    invoice.amount_total = invoice.amount_untaxed + invoice.amount_tax


def _check_header(invoice: Invoice) -> None:
    from plugins.erp_finance.schemas import CURRENCIES

    if invoice.currency not in CURRENCIES:
        raise ValidationFailed({"currency": [f"Choose one of {', '.join(CURRENCIES)}."]})
    if invoice.payment_term_id and db.session.get(PaymentTerm, invoice.payment_term_id) is None:
        raise ValidationFailed({"payment_term_id": ["Payment term not found."]})
    journal = db.session.get(Journal, invoice.journal_id or 0)
    wanted = "sale" if invoice.is_customer_side else "purchase"
    if journal is None or journal.type != wanted:
        raise ValidationFailed({"journal_id": [f"Choose a {wanted} journal."]})


def create_invoice(data: dict, kind: str = "out_invoice") -> Invoice:
    """A draft document of ``kind`` for a customer (``customer_id``) or supplier (``supplier_id``).

    ``data``: date (default today), currency and payment_term_id (default the party's),
    reference, notes, journal_id (default from the settings), lines (description,
    product_ref, quantity, unit_price, discount %, tax_id, account_id), origin_id for a
    credit note, and ``post=True`` to post it at once. Bridge and other plugins call this.
    """
    if kind not in KIND_LABELS:
        raise ValidationFailed({"kind": [f"Choose one of {', '.join(KIND_LABELS)}."]})
    party = _party(kind, data)
    settings = ledger.get_settings()
    invoice = Invoice(kind=kind, state="draft", date=data.get("date") or ledger.today(),
                      currency=data.get("currency") or party.currency,
                      payment_term_id=data.get("payment_term_id", party.payment_term_id),
                      reference=data.get("reference"), notes=data.get("notes"),
                      journal_id=data.get("journal_id") or (settings.sale_journal_id if kind.startswith("out_")
                                                            else settings.purchase_journal_id),
                      schedule_id=data.get("schedule_id"), period_start=data.get("period_start"))
    if kind.startswith("out_"):
        invoice.customer_id = party.id
    else:
        invoice.supplier_id = party.id
    if data.get("origin_id"):
        origin = db.session.get(Invoice, data["origin_id"])
        expected = kind.replace("refund", "invoice")
        if not kind.endswith("_refund") or origin is None or origin.kind != expected \
                or origin.partner.id != party.id:
            raise ValidationFailed({"origin_id": ["Choose a posted invoice of the same party."]})
        invoice.origin_id = origin.id
    _check_header(invoice)
    _set_lines(invoice, data.get("lines") or [])
    db.session.add(invoice)
    db.session.flush()
    if data.get("post"):
        post_invoice(invoice)
    return invoice


def update_invoice(invoice: Invoice, data: dict) -> Invoice:
    """Change a draft document (lines are replaced when given)."""
    lock(invoice)
    require_state(invoice, ("draft",), "changed")
    if "customer_id" in data or "supplier_id" in data:
        party = _party(invoice.kind, {**data})
        if invoice.is_customer_side:
            invoice.customer_id = party.id
        else:
            invoice.supplier_id = party.id
    for key in HEADER_FIELDS:
        if key in data and (data[key] is not None or key in ("payment_term_id", "reference", "notes")):
            setattr(invoice, key, data[key])
    _check_header(invoice)
    if "lines" in data:
        _set_lines(invoice, data["lines"] or [])
    db.session.flush()
    return invoice


@state_change(Invoice, "cancel", states=("draft",))
def cancel_invoice(invoice: Invoice) -> Invoice:
    """Cancel a draft; a posted document is corrected with a credit note (409 ``invalid_state``)."""
    invoice.state = "cancelled"
    db.session.flush()
    return invoice


def _entry_lines(invoice: Invoice, rate: Decimal) -> list[JournalLine]:
    """Income/expense and tax lines at ``rate``, then the control line that balances them."""
    customer_side = invoice.is_customer_side
    # a customer invoice credits income and tax; a vendor bill debits them; refunds mirror
    credit_side = customer_side != invoice.is_refund
    control = ledger.setting_account("receivable_account_id" if customer_side else "payable_account_id")
    party = {"customer_id": invoice.customer_id, "supplier_id": invoice.supplier_id}

    def line(account_id, amount_doc, description):
        company = q(amount_doc * rate)
        debit, credit = (ZERO, company) if credit_side else (company, ZERO)
        sign = -1 if credit_side else 1
        return JournalLine(account_id=account_id, description=description[:200], debit=debit,
                           credit=credit, currency=invoice.currency,
                           amount_currency=sign * amount_doc, **party)

    lines = [line(ln.account_id, ln.amount_untaxed, ln.description) for ln in invoice.lines
             if ln.amount_untaxed]
    taxes = defaultdict(lambda: ZERO)
    for ln in invoice.lines:
        if ln.tax_id and ln.amount_tax:
            taxes[ln.tax_id] += ln.amount_tax
    for tax_id, amount in sorted(taxes.items()):
        tax = db.session.get(Tax, tax_id)
        lines.append(line(tax.account_id, amount, tax.name))
    company_total = sum((ln.credit - ln.debit for ln in lines), ZERO)  # signed by side
    total = abs(company_total)
    control_line = JournalLine(account_id=control.id, description=invoice.reference or invoice.partner.name,
                               debit=total if credit_side else ZERO,
                               credit=ZERO if credit_side else total, currency=invoice.currency,
                               amount_currency=invoice.amount_total if credit_side else -invoice.amount_total,
                               **party)
    return [control_line] + lines


@state_change(Invoice, "post", states=("draft",))
def post_invoice(invoice: Invoice) -> Invoice:
    """Post a draft: journal entry (control, income/expense, tax), number, due dates.

    A customer invoice emits ``on_invoice_posted``; a credit note is applied to the
    invoice it corrects and a customer one emits ``on_credit_note_issued``.
    """
    if not invoice.lines or invoice.amount_total <= 0:
        raise RuleViolation(f"{invoice.label} has no amount to post", code="invoice_empty")
    if invoice.origin_id:
        _check_refund_limit(invoice)
    rate = ledger.rate_for(invoice.currency, invoice.date)
    journal = db.session.get(Journal, invoice.journal_id)
    prefix = (journal.refund_code or journal.code) if invoice.is_refund else journal.code
    entry = ledger.post_lines(journal, invoice.date, invoice.reference or invoice.partner.name,
                              invoice.currency, "invoice", _entry_lines(invoice, rate), prefix=prefix)
    party = invoice.partner
    due = installments(invoice.amount_total, invoice.date, invoice.payment_term,
                       party.payment_terms_days) if not invoice.is_refund else [(invoice.date, invoice.amount_total)]
    invoice.installments = [Installment(due_date=d, amount=a) for d, a in due]
    invoice.number, invoice.entry_id, invoice.rate = entry.number, entry.id, rate
    invoice.amount_total_company = entry.total_debit
    invoice.due_date, invoice.posted_at = due[-1][0], utcnow()
    invoice.state = "posted"
    db.session.flush()
    if invoice.kind == "out_invoice":
        emit("on_invoice_posted", InvoicePosted(
            invoice_id=invoice.id, number=invoice.number, customer_id=invoice.customer_id,
            invoice_date=invoice.date, due_date=invoice.due_date,
            amount_untaxed=invoice.amount_untaxed, amount_tax=invoice.amount_tax,
            amount_total=invoice.amount_total, currency=invoice.currency,
            actor_id=ledger.actor_id()), key=f"invoice:{invoice.id}:posted")
    if invoice.is_refund and invoice.origin_id:
        from plugins.erp_finance.payments import apply_credit_note

        origin = db.session.get(Invoice, invoice.origin_id)
        amount = min(invoice.amount_total, origin.amount_residual)
        if amount > 0 and origin.state in ("posted", "partially_paid"):
            apply_credit_note(invoice, origin, amount)
    if invoice.kind == "out_refund":
        emit("on_credit_note_issued", CreditNoteIssued(
            credit_note_id=invoice.id, number=invoice.number, customer_id=invoice.customer_id,
            invoice_id=invoice.origin_id, amount_total=invoice.amount_total,
            currency=invoice.currency, actor_id=ledger.actor_id()),
            key=f"credit_note:{invoice.id}:issued")
    return invoice


def credit_left(invoice: Invoice, excluding: int | None = None) -> Decimal:
    """What credit notes may still credit of ``invoice``: its total less the credit notes
    issued against it (drafts and cancelled ones aside; ``excluding`` the one being posted)."""
    issued = (sa.select(sa.func.coalesce(sa.func.sum(Invoice.amount_total), 0))
              .where(Invoice.origin_id == invoice.id, Invoice.state.notin_(("draft", "cancelled"))))
    if excluding is not None:
        issued = issued.where(Invoice.id != excluding)
    return invoice.amount_total - (db.session.scalar(issued) or ZERO)


def credit_row(line: InvoiceLine, quantity: Decimal | None = None) -> dict:
    """A credit note line crediting ``quantity`` (all of it by default) of an invoice line, at
    its price and discount, with its tax and account: posting it reverses both."""
    return {"description": line.description, "product_ref": line.product_ref,
            "quantity": line.quantity if quantity is None else quantity, "unit_price": line.unit_price,
            "discount": line.discount, "tax_id": line.tax_id, "account_id": line.account_id}


def _check_refund_limit(credit_note: Invoice) -> None:
    """Credit notes of one invoice never add up to more than the invoice."""
    origin = lock_by_id(Invoice, credit_note.origin_id)
    if origin.state not in CREDITABLE:
        raise RuleViolation(f"{origin.label} is not posted", code="invoice_not_posted")
    left = credit_left(origin, excluding=credit_note.id)
    if credit_note.amount_total > left:
        raise RuleViolation(f"{origin.number} can be credited for at most {left} {origin.currency} "
                            f"more", code="credit_exceeds_invoice", details={"available": str(left)})
    if credit_note.currency != origin.currency:
        raise RuleViolation("a credit note is in the currency of its invoice", code="currency_mismatch")


@state_change(Invoice, "credit", states=CREDITABLE)
def create_credit_note(invoice: Invoice, data: dict | None = None) -> Invoice:
    """A credit note correcting a posted invoice (or a supplier credit note for a bill).

    Full when ``data`` has no ``lines`` (every line of the invoice is credited), partial
    otherwise (``refunds.credit_note_lines`` makes them from chosen lines or an amount). Posted at once unless ``post`` is False; posting applies it to the
    invoice, and whatever the invoice no longer owes stays as the party's credit.
    """
    data = dict(data or {})
    if invoice.is_refund:
        raise RuleViolation(f"{invoice.label} is not a posted invoice", code="invoice_not_posted")
    rows = data.get("lines") or [credit_row(ln) for ln in invoice.lines]
    kind = invoice.kind.replace("invoice", "refund")
    party_key = "customer_id" if invoice.is_customer_side else "supplier_id"
    credit_note = create_invoice({
        party_key: invoice.partner.id, "date": data.get("date") or max(invoice.date, ledger.today()),
        "currency": invoice.currency, "reference": data.get("reference") or f"Credit for {invoice.number}",
        "notes": data.get("reason") or data.get("notes"), "origin_id": invoice.id, "lines": rows,
        "post": data.get("post", True)}, kind=kind)
    return credit_note
