"""Events finance emits. Other plugins implement them; finance never knows who listens.

Every event is emitted through ``core.events.emit`` with an idempotency key, inside the
transaction of the action that caused it, after the change is flushed: a handler sees
the new state through finance's services, and a handler that raises refuses the whole
action (the user gets the handler plugin's reason, nothing is posted). Each
implementation is called once per event; event results are ignored.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core import hookspec


@dataclass(frozen=True)
class InvoicePosted:
    """A customer invoice was posted: it is numbered, in the ledger and due.

    Amounts are in the invoice ``currency``; ``due_date`` is its last due date.
    """

    invoice_id: int
    number: str
    customer_id: int
    invoice_date: dt.date
    due_date: dt.date
    amount_untaxed: Decimal
    amount_tax: Decimal
    amount_total: Decimal
    currency: str
    actor_id: int | None


@dataclass(frozen=True)
class InvoicePaid:
    """A customer invoice became fully settled (by payments and/or credit notes)."""

    invoice_id: int
    number: str
    customer_id: int
    amount_total: Decimal
    currency: str
    paid_on: dt.date
    actor_id: int | None


@dataclass(frozen=True)
class PaymentReceived:
    """Money was received from a customer.

    ``allocations`` pairs each settled invoice id with the amount applied to it;
    ``unallocated`` is what stays as the customer's credit.
    """

    payment_id: int
    number: str
    customer_id: int
    amount: Decimal
    currency: str
    date: dt.date
    allocations: tuple[tuple[int, Decimal], ...]
    unallocated: Decimal
    actor_id: int | None


@dataclass(frozen=True)
class CreditNoteIssued:
    """A customer credit note was posted; ``invoice_id`` is the invoice it corrects, if any."""

    credit_note_id: int
    number: str
    customer_id: int
    invoice_id: int | None
    amount_total: Decimal
    currency: str
    actor_id: int | None


@hookspec
def on_invoice_posted(event: InvoicePosted) -> None:
    """A customer invoice was posted (key ``invoice:<id>:posted``).

    Called inside the posting transaction; raising refuses the posting.
    """


@hookspec
def on_invoice_paid(event: InvoicePaid) -> None:
    """A customer invoice became fully paid (key ``invoice:<id>:paid:<allocation id>``).

    Called inside the transaction of the payment or credit note that settled it, after
    ``on_payment_received``; raising refuses that payment or credit note.
    """


@hookspec
def on_payment_received(event: PaymentReceived) -> None:
    """A customer payment was registered and allocated (key ``payment:<id>:received``).

    Called inside the payment's transaction; raising refuses the payment.
    """


@hookspec
def on_credit_note_issued(event: CreditNoteIssued) -> None:
    """A customer credit note was posted (key ``credit_note:<id>:issued``).

    Called inside the posting transaction, after the credit note was applied to the
    invoice it corrects; raising refuses the credit note.
    """
