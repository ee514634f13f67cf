"""What a credit note credits of a posted customer invoice: all of it, chosen lines and
quantities, or an amount spread over its taxes.

Every line of the credit note carries the tax and income account of what it credits, so
posting it (``create_credit_note``) reverses the output tax with the income. What is
asked is checked against what the invoice has left to credit, under the invoice's lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from core.db import db
from core.errors import ValidationFailed
from core.states import lock, require_state
from plugins.erp_finance.invoicing import CREDITABLE, compute_line, credit_left, credit_row
from plugins.erp_finance.ledger import CENT, ZERO
from plugins.erp_finance.models import Invoice, InvoiceLine, Tax


@dataclass(frozen=True)
class Creditable:
    """A posted invoice and what credit notes may still credit of it."""

    invoice: Invoice
    credit_left: Decimal


def creditable_invoices(customer_id: int, limit: int = 50) -> list[Creditable]:
    """The customer's posted invoices with something left to credit, newest first, with
    their lines (two queries whatever the number of invoices)."""
    issued = (sa.select(Invoice.origin_id, sa.func.sum(Invoice.amount_total).label("total"))
              .where(Invoice.origin_id.is_not(None), Invoice.state.notin_(("draft", "cancelled")))
              .group_by(Invoice.origin_id).subquery())
    left = Invoice.amount_total - sa.func.coalesce(issued.c.total, 0)
    rows = db.session.execute(
        sa.select(Invoice, left).outerjoin(issued, issued.c.origin_id == Invoice.id)
        .where(Invoice.kind == "out_invoice", Invoice.customer_id == customer_id,
               Invoice.state.in_(CREDITABLE), left > 0)
        .options(selectinload(Invoice.lines))
        .order_by(Invoice.date.desc(), Invoice.id.desc()).limit(limit)).all()
    return [Creditable(invoice, Decimal(amount).quantize(CENT)) for invoice, amount in rows]


def credit_note_lines(invoice: Invoice, lines: list[dict] | None = None,
                      amount: Decimal | None = None) -> list[dict]:
    """The lines of a credit note for ``invoice`` (for ``create_credit_note``): every line
    when neither is given; the chosen ``lines`` (``[{"line_id", "quantity"}]``) at their
    price, discount and tax; or ``amount``, tax included, spread over the invoice's taxes
    pro rata of its net per tax (and income account).

    The invoice is locked first, so two credits at once see each other. Refused (422,
    field ``lines`` or ``amount``) for a line not on the invoice, a quantity above the
    line's, or a credit above what the invoice has left to credit (``credit_left``).
    """
    invoice = lock(invoice)
    require_state(invoice, CREDITABLE, "credited")
    left = credit_left(invoice)
    if amount is not None:
        field = "amount"
        if amount > left:
            raise ValidationFailed({field: [_too_much(invoice, amount, left)]})
        rows = _spread(invoice, Decimal(amount))
    else:
        field = "lines"
        rows = _chosen(invoice, lines) if lines is not None else [credit_row(ln) for ln in invoice.lines]
    total = sum((_total(row) for row in rows), ZERO)
    if total <= 0:
        raise ValidationFailed({field: ["Nothing to credit."]})
    if total > left:
        raise ValidationFailed({field: [_too_much(invoice, total, left)]})
    return rows


def _too_much(invoice: Invoice, asked: Decimal, left: Decimal) -> str:
    return (f"{asked} {invoice.currency} is more than {invoice.number} has left to credit "
            f"({left} {invoice.currency}: its total less the credit notes issued against it).")


def _total(row: dict) -> Decimal:
    tax = db.session.get(Tax, row["tax_id"]) if row.get("tax_id") else None
    return sum(compute_line(row["quantity"], row["unit_price"], row.get("discount") or ZERO, tax), ZERO)


def _chosen(invoice: Invoice, wanted: list[dict]) -> list[dict]:
    by_id: dict[int, InvoiceLine] = {ln.id: ln for ln in invoice.lines}
    errors, rows, seen = {}, [], set()
    for i, choice in enumerate(wanted):
        line, quantity = by_id.get(choice.get("line_id")), Decimal(choice.get("quantity") or 0)
        if line is None:
            errors[i] = {"line_id": [f"Not a line of {invoice.number}."]}
        elif line.id in seen:
            errors[i] = {"line_id": ["This line is chosen twice."]}
        elif quantity <= 0:
            errors[i] = {"quantity": ["Must be more than 0."]}
        elif quantity > line.quantity:
            errors[i] = {"quantity": [f"At most {line.quantity.normalize():f} of “{line.description}”, "
                                      f"the quantity invoiced."]}
        else:
            rows.append(credit_row(line, quantity))
        seen.add(choice.get("line_id"))
    if errors:
        raise ValidationFailed({"lines": errors})
    return rows


def _spread(invoice: Invoice, amount: Decimal) -> list[dict]:
    """One line per tax (and income account) of the invoice, their totals adding up to
    ``amount`` shared pro rata of the invoice's net under each tax.

    Tax is rounded per line, so a line's total moves in steps of one or two cents; where
    it cannot meet its share exactly it stays under and the cent passes to the next line.
    The credit note never totals more than ``amount`` (at worst one cent less)."""
    groups: dict[tuple, list] = {}
    for line in invoice.lines:
        group = groups.setdefault((line.tax_id, line.account_id), [ZERO, line.tax])
        group[0] += line.amount_untaxed
    weights = {key: net * (1 + (tax.rate / 100 if tax is not None else 0))
               for key, (net, tax) in groups.items() if net > 0}
    if not weights:
        raise ValidationFailed({"amount": [f"{invoice.number} has no net amount to spread a credit over."]})
    shares, rows, carry = _shares(amount, weights), [], ZERO
    for key in sorted(weights, key=lambda k: (-weights[k], str(k))):
        tax = groups[key][1]
        price, total = _price_for(shares[key] + carry, tax)
        carry = shares[key] + carry - total
        if price > 0:
            rows.append({"description": f"Credit on {invoice.number}" + (f" ({tax.name})" if tax else ""),
                         "quantity": Decimal(1), "unit_price": price, "discount": ZERO,
                         "tax_id": tax.id if tax else None, "account_id": key[1]})
    return rows


def _shares(amount: Decimal, weights: dict) -> dict:
    """``amount`` cut into cents pro rata of ``weights`` (largest remainders take the odd cents)."""
    cents, whole = int(amount / CENT), sum(weights.values())
    exact = {key: cents * weight / whole for key, weight in weights.items()}
    shares = {key: int(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda k: exact[k] - shares[k], reverse=True)[:cents - sum(shares.values())]:
        shares[key] += 1
    return {key: value * CENT for key, value in shares.items()}


def _price_for(target: Decimal, tax: Tax | None) -> tuple[Decimal, Decimal]:
    """(unit price, line total) of the one-unit line with ``tax`` whose total is ``target``,
    or the nearest under it."""
    if target <= 0:
        return ZERO, ZERO
    rate = tax.rate / 100 if tax is not None and not tax.price_included else 0
    guess, best = (target / (1 + rate)).quantize(CENT), (ZERO, ZERO)
    for price in (guess + CENT, guess, guess - CENT):
        total = sum(compute_line(Decimal(1), price, ZERO, tax), ZERO) if price > 0 else ZERO
        if best[1] < total <= target:
            best = (price, total)
    return best
