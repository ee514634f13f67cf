"""Payments and allocations: settling invoices and bills with payments and credit notes.

Every allocation locks the invoice row (``SELECT ... FOR UPDATE``) and re-reads what is
left to pay before adding to it, so two payments of the same invoice at the same time
cannot settle more than it owes; the database's ``paid_range`` check is the last line.
A payment posts once (bank against the control account, for the whole amount); what is
not allocated stays on the party's account as credit, usable on later invoices.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.events import emit
from core.states import lock, lock_by_id, state_change
from plugins.erp_finance import ledger
from plugins.erp_finance.hookspecs import InvoicePaid, PaymentReceived
from plugins.erp_finance.ledger import ZERO, money, q
from plugins.erp_finance.models import (Allocation, Customer, Invoice, Journal, JournalLine,
                                        Payment, Supplier)


def get_payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id} not found")
    return payment


def _open_invoices(kind: str, party_filter, currency: str) -> list[Invoice]:
    return list(db.session.scalars(sa.select(Invoice).where(
        Invoice.kind == kind, party_filter, Invoice.currency == currency,
        Invoice.state.in_(("posted", "partially_paid"))).order_by(Invoice.due_date, Invoice.id)))


def register_payment(data: dict) -> Payment:
    """Record money received from a customer or paid to a supplier, and allocate it.

    ``data``: customer_id (inbound) or supplier_id (outbound), amount, date (default
    today), currency (default the party's), journal_id (a bank or cash journal; default
    from the settings), reference, allocations (``[{invoice_id, amount}]``) or
    ``auto_allocate`` (oldest due first). What is left stays as the party's credit.
    Emits ``on_payment_received`` and ``on_invoice_paid`` for invoices it settles.
    """
    inbound = bool(data.get("customer_id"))
    if inbound:
        party = db.session.get(Customer, data["customer_id"])
        if party is None:
            raise ValidationFailed({"customer_id": ["Customer not found."]})
    else:
        party = db.session.get(Supplier, data.get("supplier_id") or 0)
        if party is None:
            raise ValidationFailed({"customer_id": ["Choose a customer or a supplier."]})
    amount = money(data.get("amount"), "amount")
    if amount <= 0:
        raise ValidationFailed({"amount": ["Must be more than 0."]})
    currency = data.get("currency") or party.currency
    date = data.get("date") or ledger.today()
    journal = db.session.get(Journal, data.get("journal_id") or ledger.get_settings().bank_journal_id or 0)
    if journal is None or journal.type not in ("bank", "cash") or journal.default_account_id is None:
        raise ValidationFailed({"journal_id": ["Choose a bank or cash journal."]})
    kind = "out_invoice" if inbound else "in_invoice"
    party_filter = Invoice.customer_id == party.id if inbound else Invoice.supplier_id == party.id
    wanted: dict[int, Decimal] = {}
    for i, row in enumerate(data.get("allocations") or []):
        value = money(row.get("amount"), "amount")
        if value <= 0:
            raise ValidationFailed({"allocations": {i: {"amount": ["Must be more than 0."]}}})
        wanted[row.get("invoice_id")] = wanted.get(row.get("invoice_id"), ZERO) + value
    if sum(wanted.values(), ZERO) > amount:
        raise ValidationFailed({"allocations": [f"The allocations add up to more than the "
                                                f"payment ({amount})."]})
    if not wanted and data.get("auto_allocate"):
        wanted = _oldest_first(_open_invoices(kind, party_filter, currency), amount)
    invoices = {}
    for invoice_id in sorted(wanted):  # lock in id order: concurrent payments never deadlock
        invoice = db.session.get(Invoice, invoice_id or 0)
        if invoice is None or invoice.kind != kind or \
                (invoice.customer_id if inbound else invoice.supplier_id) != party.id:
            raise ValidationFailed({"allocations": [f"Document {invoice_id} is not an invoice "
                                                    f"of {party.name}."]})
        invoices[invoice_id] = _check_open(lock_by_id(Invoice, invoice_id), wanted[invoice_id], currency)

    rate = ledger.rate_for(currency, date)
    company = q(amount * rate)
    control = ledger.setting_account("receivable_account_id" if inbound else "payable_account_id")
    party_ids = {"customer_id": party.id} if inbound else {"supplier_id": party.id}
    bank_side = JournalLine(account_id=journal.default_account_id, description=party.name[:200],
                            debit=company if inbound else ZERO, credit=ZERO if inbound else company,
                            currency=currency, amount_currency=amount if inbound else -amount)
    party_side = JournalLine(account_id=control.id, description=data.get("reference") or "Payment",
                             debit=ZERO if inbound else company, credit=company if inbound else ZERO,
                             currency=currency, amount_currency=-amount if inbound else amount,
                             **party_ids)
    entry = ledger.post_lines(journal, date, data.get("reference") or party.name, currency,
                              "payment", [bank_side, party_side])
    payment = Payment(direction="inbound" if inbound else "outbound", number=entry.number,
                      journal_id=journal.id, date=date, amount=amount, currency=currency, rate=rate,
                      reference=data.get("reference"), state="posted", entry_id=entry.id,
                      amount_allocated=ZERO, **party_ids)
    db.session.add(payment)
    db.session.flush()
    settled = [_settle(invoices[i], wanted[i], date, payment=payment) for i in sorted(wanted)]
    if inbound:
        emit("on_payment_received", PaymentReceived(
            payment_id=payment.id, number=payment.number, customer_id=party.id, amount=amount,
            currency=currency, date=date,
            allocations=tuple((a.invoice_id, a.amount) for a, _ in settled),
            unallocated=payment.amount_unallocated, actor_id=ledger.actor_id()),
            key=f"payment:{payment.id}:received")
    for allocation, became_paid in settled:
        if became_paid:
            _emit_paid(allocation)
    return payment


def _oldest_first(candidates: list[Invoice], amount: Decimal) -> dict[int, Decimal]:
    """What ``amount`` settles of the open invoices, oldest due first, read under their locks.

    The invoices are locked in id order (concurrent payments never deadlock), then read
    again: one another payment settled meanwhile is passed over, as a payment registered
    after it would pass it over, and the rest stays as credit.
    """
    locked = {invoice.id: lock(invoice) for invoice in sorted(candidates, key=lambda i: i.id)}
    wanted, left = {}, amount
    for invoice in candidates:
        invoice = locked[invoice.id]
        if left <= 0:
            break
        if invoice.state in ("posted", "partially_paid") and invoice.amount_residual > 0:
            wanted[invoice.id] = min(left, invoice.amount_residual)
            left -= wanted[invoice.id]
    return wanted


def _check_open(invoice: Invoice, amount: Decimal, currency: str) -> Invoice:
    if invoice.state not in ("posted", "partially_paid"):
        raise RuleViolation(f"{invoice.label} is {invoice.state}: nothing is left to pay",
                            code="invoice_not_open")
    if currency != invoice.currency:
        raise RuleViolation(f"{invoice.number} is in {invoice.currency}; settle it in that currency",
                            code="currency_mismatch")
    if amount > invoice.amount_residual:
        raise RuleViolation(f"{invoice.number} has only {invoice.amount_residual} "
                            f"{invoice.currency} left to pay, not {amount}", code="over_allocation",
                            details={"invoice_id": invoice.id, "residual": str(invoice.amount_residual)})
    return invoice


def _settle(invoice: Invoice, amount: Decimal, date: dt.date, payment: Payment | None = None,
            credit_note: Invoice | None = None) -> tuple[Allocation, bool]:
    """Allocate ``amount`` of a payment or credit note to an invoice (both rows locked)."""
    source = lock(payment or credit_note)
    invoice = _check_open(lock(invoice), amount, payment.currency if payment else credit_note.currency)
    source_left = source.amount_unallocated if payment else source.amount_residual
    if amount > source_left:
        raise RuleViolation(f"{source.label} has only {source_left} {source.currency} left to "
                            f"allocate", code="over_allocation")
    source_column = Allocation.payment_id if payment else Allocation.credit_note_id
    source_total = q(source.amount * source.rate) if payment else source.amount_total_company
    if amount == invoice.amount_residual:  # the last part takes the rounding remainder
        amount_company = invoice.amount_total_company - _allocated_company(Allocation.invoice_id, invoice.id,
                                                                            Allocation.amount_company)
    else:
        amount_company = q(amount * invoice.rate)
    if amount == source_left:
        source_company = source_total - _allocated_company(source_column, source.id,
                                                           Allocation.source_amount_company)
    else:
        source_company = q(amount * source.rate)
    allocation = Allocation(invoice_id=invoice.id, amount=amount, amount_company=amount_company,
                            source_amount_company=source_company, date=date,
                            payment_id=payment.id if payment else None,
                            credit_note_id=credit_note.id if credit_note else None)
    invoice.amount_paid += amount
    invoice.state = "paid" if invoice.amount_paid == invoice.amount_total else "partially_paid"
    if payment:
        source.amount_allocated += amount
    else:
        source.amount_paid += amount
        source.state = "paid" if source.amount_paid == source.amount_total else "partially_paid"
    if amount_company != source_company:
        allocation.fx_entry_id = _post_exchange_difference(invoice, amount_company - source_company,
                                                           date).id
    db.session.add(allocation)
    db.session.flush()
    return allocation, invoice.state == "paid"


def _allocated_company(column, record_id: int, amount_column) -> Decimal:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(amount_column), 0))
                             .where(column == record_id)) or ZERO


def _post_exchange_difference(invoice: Invoice, difference: Decimal, date: dt.date):
    """Clear what rates left on the party's account: the invoice was booked at its rate,
    the money (or credit) that settled it at another."""
    customer_side = invoice.is_customer_side
    control = ledger.setting_account("receivable_account_id" if customer_side else "payable_account_id")
    fx = ledger.setting_account("fx_account_id")
    # customer: a positive difference is receivable left over (credit it); supplier: the mirror
    control_credit = difference if customer_side else -difference
    amount = abs(difference)
    party = {"customer_id": invoice.customer_id, "supplier_id": invoice.supplier_id}
    lines = [JournalLine(account_id=control.id, description=f"Exchange difference {invoice.number}",
                         debit=ZERO if control_credit > 0 else amount,
                         credit=amount if control_credit > 0 else ZERO,
                         currency=ledger.company_currency(), amount_currency=ZERO, **party),
             JournalLine(account_id=fx.id, description=f"Exchange difference {invoice.number}",
                         debit=amount if control_credit > 0 else ZERO,
                         credit=ZERO if control_credit > 0 else amount,
                         currency=ledger.company_currency(), amount_currency=ZERO)]
    return ledger.post_lines(ledger.setting_journal("misc_journal_id"), max(date, invoice.date),
                             f"Exchange difference {invoice.number}", ledger.company_currency(),
                             "fx", lines)


def _emit_paid(allocation: Allocation) -> None:
    invoice = allocation.invoice
    if invoice.kind != "out_invoice":
        return
    emit("on_invoice_paid", InvoicePaid(
        invoice_id=invoice.id, number=invoice.number, customer_id=invoice.customer_id,
        amount_total=invoice.amount_total, currency=invoice.currency, paid_on=allocation.date,
        actor_id=ledger.actor_id()), key=f"invoice:{invoice.id}:paid:{allocation.id}")


@state_change(Payment, "allocate", states=("posted",))
def allocate_payment(payment: Payment, invoice: Invoice, amount: Decimal | None = None,
                     date: dt.date | None = None) -> Allocation:
    """Use what is left of a payment (the party's credit) on an invoice of the same party;
    a cancelled payment is refused (409 ``invalid_state``)."""
    lock(invoice)
    _same_party(invoice, payment.customer_id, payment.supplier_id,
                "out_invoice" if payment.direction == "inbound" else "in_invoice")
    amount = money(amount, "amount") if amount is not None else min(payment.amount_unallocated,
                                                                      invoice.amount_residual)
    if amount <= 0:
        raise ValidationFailed({"amount": ["Must be more than 0."]})
    allocation, became_paid = _settle(invoice, amount, date or ledger.today(), payment=payment)
    if became_paid:
        _emit_paid(allocation)
    return allocation


@state_change(Invoice, "apply", states=("posted", "partially_paid"))
def apply_credit_note(credit_note: Invoice, invoice: Invoice, amount: Decimal | None = None,
                      date: dt.date | None = None) -> Allocation:
    """Settle (part of) an invoice with what is left of a credit note of the same party."""
    if not credit_note.is_refund:
        raise RuleViolation(f"{credit_note.label} has no credit left to use", code="credit_not_open")
    lock(invoice)
    _same_party(invoice, credit_note.customer_id, credit_note.supplier_id,
                credit_note.kind.replace("refund", "invoice"))
    amount = money(amount, "amount") if amount is not None else min(credit_note.amount_residual,
                                                                      invoice.amount_residual)
    if amount <= 0:
        raise ValidationFailed({"amount": ["Must be more than 0."]})
    allocation, became_paid = _settle(invoice, amount, date or max(ledger.today(), credit_note.date),
                                      credit_note=credit_note)
    if became_paid:
        _emit_paid(allocation)
    return allocation


def _same_party(invoice: Invoice, customer_id, supplier_id, kind: str) -> None:
    if invoice.kind != kind or invoice.customer_id != customer_id or invoice.supplier_id != supplier_id:
        raise RuleViolation(f"{invoice.label} is not an invoice of the same party",
                            code="party_mismatch")


@state_change(Payment, "cancel", states=("posted",))
def cancel_payment(payment: Payment, date: dt.date | None = None, reason: str | None = None) -> Payment:
    """Cancel a payment: reverse its entry (and exchange differences), unsettle its invoices."""
    allocations = list(db.session.scalars(sa.select(Allocation).where(Allocation.payment_id == payment.id)
                                          .order_by(Allocation.invoice_id)))
    date = date or max(payment.date, ledger.today())
    for allocation in allocations:
        invoice = lock_by_id(Invoice, allocation.invoice_id)
        invoice.amount_paid -= allocation.amount
        invoice.state = "posted" if invoice.amount_paid == 0 else "partially_paid"
        if allocation.fx_entry_id:
            ledger.reverse_entry(ledger.get_entry(allocation.fx_entry_id), date,
                                 f"Payment {payment.number} cancelled", allow_document=True)
        db.session.delete(allocation)
    reversal = ledger.reverse_entry(payment.entry, date, reason or "Payment cancelled",
                                    allow_document=True)
    payment.amount_allocated = ZERO
    payment.cancel_entry_id = reversal.id
    payment.state = "cancelled"
    db.session.flush()
    return payment


@dataclass(frozen=True)
class Credit:
    """Something a party may still use to settle invoices: a payment's or credit note's rest."""

    source: str  # "payment" or "credit note"
    id: int
    number: str
    date: dt.date
    amount: Decimal
    currency: str


def available_credits(customer_id: int | None = None, supplier_id: int | None = None) -> list[Credit]:
    """Unallocated payments and unused credit notes of a customer (or supplier), oldest first."""
    party = (Payment.customer_id == customer_id) if customer_id else (Payment.supplier_id == supplier_id)
    doc_party = (Invoice.customer_id == customer_id) if customer_id else (Invoice.supplier_id == supplier_id)
    payments = db.session.scalars(sa.select(Payment).where(
        party, Payment.state == "posted", Payment.amount_allocated < Payment.amount).order_by(Payment.date))
    notes = db.session.scalars(sa.select(Invoice).where(
        doc_party, Invoice.kind.in_(("out_refund", "in_refund")),
        Invoice.state.in_(("posted", "partially_paid"))).order_by(Invoice.date))
    credits = [Credit("payment", p.id, p.number, p.date, p.amount_unallocated, p.currency) for p in payments]
    credits += [Credit("credit note", n.id, n.number, n.date, n.amount_residual, n.currency) for n in notes]
    return sorted(credits, key=lambda c: (c.date, c.number))
