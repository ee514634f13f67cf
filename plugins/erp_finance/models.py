"""Finance records: parties, the ledger, documents, payments and billing schedules.

Amounts are ``Decimal`` in ``Numeric`` columns. A document (invoice, credit note, vendor
bill, payment) carries its own currency; the journal lines it posts carry the company
currency amount (``debit``/``credit``) and the document currency amount
(``amount_currency``, signed). Posted journal entries and their lines never change: see
``plugins.erp_finance.guards`` for the database-level guard.

Payment terms and a journal's default account are not joined into the rows that refer
to them: they are few, and the session finds them without SQL once loaded.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Money, Quantity, Timestamped, db, utcnow

ZERO = Decimal("0.00")
Rate = sa.Numeric(18, 8, asdecimal=True)  # exchange rates
Percent = sa.Numeric(9, 4, asdecimal=True)  # tax rates, discounts
UnitPrice = sa.Numeric(18, 4, asdecimal=True)

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
CONTROL_KINDS = ("receivable", "payable")
JOURNAL_TYPES = ("sale", "purchase", "bank", "cash", "general")
TAX_SCOPES = ("sale", "purchase")
#: out_invoice: customer invoice; out_refund: customer credit note;
#: in_invoice: vendor bill; in_refund: supplier credit note.
INVOICE_KINDS = ("out_invoice", "out_refund", "in_invoice", "in_refund")
INVOICE_STATES = ("draft", "posted", "partially_paid", "paid", "cancelled")
PERIODS = {"monthly": 1, "quarterly": 3, "yearly": 12}


class _Party(Timestamped):
    """What customers and suppliers share."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    tax_id: Mapped[str | None] = mapped_column(sa.String(50), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(255))
    billing_address: Mapped[str | None] = mapped_column(sa.Text)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    payment_term_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_payment_term.id"))


class Customer(_Party, db.Model):
    """Someone the business invoices; owns the financial terms (credit limit, payment terms)."""

    __tablename__ = "finance_customer"
    __table_args__ = (sa.CheckConstraint("credit_limit >= 0", name="credit_limit_positive"),
                      sa.CheckConstraint("payment_terms_days >= 0", name="terms_positive"))

    payment_term = relationship("PaymentTerm")


class Supplier(_Party, db.Model):
    """Someone the business buys from and pays (the payables side)."""

    __tablename__ = "finance_supplier"
    __table_args__ = (sa.CheckConstraint("credit_limit >= 0", name="credit_limit_positive"),
                      sa.CheckConstraint("payment_terms_days >= 0", name="terms_positive"))

    payment_term = relationship("PaymentTerm")


class PaymentTerm(Timestamped, db.Model):
    """When a document falls due: ``schedule`` like "100% 30d" or "50% now, 50% 30d"."""

    __tablename__ = "finance_payment_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    schedule: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Account(Timestamped, db.Model):
    """An account of the chart; ``control`` marks the receivable and payable accounts."""

    __tablename__ = "finance_account"
    __table_args__ = (sa.CheckConstraint(f"type IN {ACCOUNT_TYPES}", name="type_known"),
                      sa.CheckConstraint(f"control IS NULL OR control IN {CONTROL_KINDS}",
                                         name="control_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(16), index=True)
    control: Mapped[str | None] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


class Journal(Timestamped, db.Model):
    """A book entries are posted in (sales, purchases, bank, cash, miscellaneous).

    ``code`` prefixes entry numbers (``INV/2026/00001``); ``refund_code`` those of credit
    notes. ``last_hash`` and ``entry_count`` are the head of the journal's hash chain.
    """

    __tablename__ = "finance_journal"
    __table_args__ = (sa.CheckConstraint(f"type IN {JOURNAL_TYPES}", name="type_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(16))
    refund_code: Mapped[str | None] = mapped_column(sa.String(10))
    default_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    active: Mapped[bool] = mapped_column(default=True)
    entry_count: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str | None] = mapped_column(sa.String(64))

    default_account = relationship(Account)


class FiscalYear(Timestamped, db.Model):
    """A financial year; entries are numbered per journal and fiscal year."""

    __tablename__ = "finance_fiscal_year"
    __table_args__ = (sa.CheckConstraint("date_end > date_start", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(20), unique=True)
    date_start: Mapped[dt.date] = mapped_column(index=True)
    date_end: Mapped[dt.date] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(sa.String(10), default="open")


class Settings(db.Model):
    """The company's accounting settings (one row, id 1)."""

    __tablename__ = "finance_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_name: Mapped[str] = mapped_column(sa.String(200), default="My Company")
    company_address: Mapped[str | None] = mapped_column(sa.Text)
    company_tax_id: Mapped[str | None] = mapped_column(sa.String(50))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    lock_date: Mapped[dt.date | None] = mapped_column()
    receivable_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    payable_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    income_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    expense_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    fx_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    sale_journal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_journal.id"))
    purchase_journal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_journal.id"))
    bank_journal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_journal.id"))
    misc_journal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_journal.id"))
    sale_tax_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_tax.id"))
    purchase_tax_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_tax.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Sequence(db.Model):
    """The next number of one numbering series: a journal, a fiscal year and a prefix.

    Posting locks this row (``SELECT ... FOR UPDATE``) so that concurrent postings take
    consecutive numbers; a rolled-back posting gives its number back.
    """

    __tablename__ = "finance_sequence"
    __table_args__ = (sa.UniqueConstraint("journal_id", "fiscal_year_id", "prefix",
                                          name="uq_finance_sequence_series"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"))
    fiscal_year_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_fiscal_year.id"))
    prefix: Mapped[str] = mapped_column(sa.String(10))
    next_number: Mapped[int] = mapped_column(default=1)


class Tax(Timestamped, db.Model):
    """A tax rate (percent) and the account its amounts are posted to."""

    __tablename__ = "finance_tax"
    __table_args__ = (sa.CheckConstraint("rate >= 0 AND rate < 100", name="rate_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    rate: Mapped[Decimal] = mapped_column(Percent)
    price_included: Mapped[bool] = mapped_column(default=False)
    scope: Mapped[str] = mapped_column(sa.String(10), default="sale")
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"))
    active: Mapped[bool] = mapped_column(default=True)

    account = relationship(Account, lazy="joined")


class ExchangeRate(db.Model):
    """One unit of ``currency`` is worth ``rate`` units of the company currency from ``date`` on."""

    __tablename__ = "finance_exchange_rate"
    __table_args__ = (sa.UniqueConstraint("currency", "date", name="uq_finance_exchange_rate_day"),
                      sa.CheckConstraint("rate > 0", name="rate_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), index=True)
    date: Mapped[dt.date] = mapped_column(index=True)
    rate: Mapped[Decimal] = mapped_column(Rate)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class JournalEntry(Timestamped, db.Model):
    """A journal entry. Draft entries change freely; posted ones never change.

    Posting sets ``number`` (gap-free per journal, fiscal year and prefix), ``chain_index``,
    ``prev_hash`` and ``hash`` (the journal's hash chain). Corrections are reversal entries
    (``reversal_of_id``) or credit notes.
    """

    __tablename__ = "finance_entry"
    __table_args__ = (
        sa.UniqueConstraint("journal_id", "chain_index", name="uq_finance_entry_chain"),
        sa.CheckConstraint("state IN ('draft', 'posted')", name="state_known"),
        sa.CheckConstraint("state = 'draft' OR (total_debit = total_credit AND number IS NOT NULL "
                           "AND hash IS NOT NULL)", name="posted_balanced"),
    )
    __state__ = "state"
    __state_columns__ = ("state",)

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"), index=True)
    fiscal_year_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_fiscal_year.id"))
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    date: Mapped[dt.date] = mapped_column(index=True)
    ref: Mapped[str | None] = mapped_column(sa.String(200))
    narration: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(10), default="draft", index=True)
    source: Mapped[str] = mapped_column(sa.String(16), default="manual")
    currency: Mapped[str] = mapped_column(sa.String(3))
    total_debit: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total_credit: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    reversal_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"),
                                                       unique=True)
    posted_at: Mapped[dt.datetime | None] = mapped_column()
    posted_by: Mapped[int | None] = mapped_column()
    chain_index: Mapped[int | None] = mapped_column()
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))

    journal = relationship(Journal, lazy="joined")
    lines = relationship("JournalLine", back_populates="entry", order_by="JournalLine.sequence",
                         cascade="all, delete-orphan")
    reversal_of = relationship("JournalEntry", remote_side=[id], lazy="select")

    @property
    def label(self) -> str:
        return self.number or f"Draft entry {self.id}"


class JournalLine(db.Model):
    """One line of an entry: an account debited or credited, in the company currency.

    ``amount_currency`` is the same amount in the document's ``currency``, signed
    (positive on the debit side).
    """

    __tablename__ = "finance_entry_line"
    __table_args__ = (
        sa.CheckConstraint("debit >= 0 AND credit >= 0", name="amounts_positive"),
        sa.CheckConstraint("debit = 0 OR credit = 0", name="one_side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_entry.id"), index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_customer.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_supplier.id"), index=True)
    description: Mapped[str | None] = mapped_column(sa.String(200))
    debit: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    credit: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_currency: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    entry = relationship(JournalEntry, back_populates="lines")
    account = relationship(Account, lazy="joined")
    customer = relationship(Customer, lazy="joined")
    supplier = relationship(Supplier, lazy="joined")


class AccountDay(db.Model):
    """What the posted entries of one day debited and credited to one account.

    Kept as entries are posted (``ledger.post_entry``; posted entries never change, so
    these sums never need recomputing) and read by the reports instead of every line:
    a trial balance over a million lines sums a few thousand of these rows.
    """

    __tablename__ = "finance_account_day"
    __audit__ = False  # derived from the entries, which are audited

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    debit: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    credit: Mapped[Decimal] = mapped_column(Money, default=ZERO)


class Invoice(Timestamped, db.Model):
    """A customer invoice or credit note, or a vendor bill or supplier credit note (``kind``).

    ``amount_paid`` is what payments and credit notes settled of it (for a credit note:
    what of it was used); the database refuses more than the total.
    """

    __tablename__ = "finance_invoice"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {INVOICE_KINDS}", name="kind_known"),
        sa.CheckConstraint(f"state IN {INVOICE_STATES}", name="state_known"),
        sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= amount_total", name="paid_range"),
        sa.CheckConstraint("customer_id IS NOT NULL OR supplier_id IS NOT NULL", name="has_party"),
        sa.UniqueConstraint("schedule_id", "period_start", name="uq_finance_invoice_period"),
    )
    __state__ = "state"
    __state_columns__ = ("state", "amount_paid")

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), index=True)
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_customer.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_supplier.id"), index=True)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"))
    date: Mapped[dt.date] = mapped_column(index=True)
    due_date: Mapped[dt.date | None] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    rate: Mapped[Decimal | None] = mapped_column(Rate)
    payment_term_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_payment_term.id"))
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)
    origin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_invoice.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"), unique=True)
    schedule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_billing_schedule.id"))
    period_start: Mapped[dt.date | None] = mapped_column()
    amount_untaxed: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_tax: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_total_company: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    posted_at: Mapped[dt.datetime | None] = mapped_column()

    customer = relationship(Customer, lazy="joined")
    supplier = relationship(Supplier, lazy="joined")
    journal = relationship(Journal, lazy="joined")
    payment_term = relationship(PaymentTerm)
    origin = relationship("Invoice", remote_side=[id])
    entry = relationship(JournalEntry)
    lines = relationship("InvoiceLine", back_populates="invoice", order_by="InvoiceLine.sequence",
                         cascade="all, delete-orphan")
    installments = relationship("Installment", order_by="Installment.due_date",
                                cascade="all, delete-orphan")

    @property
    def is_customer_side(self) -> bool:
        return self.kind.startswith("out_")

    @property
    def is_refund(self) -> bool:
        return self.kind.endswith("_refund")

    @property
    def partner(self):
        return self.customer if self.is_customer_side else self.supplier

    @property
    def amount_residual(self) -> Decimal:
        return self.amount_total - self.amount_paid

    @property
    def label(self) -> str:
        return self.number or f"Draft {KIND_LABELS[self.kind].lower()} {self.id}"


KIND_LABELS = {"out_invoice": "Invoice", "out_refund": "Credit note",
               "in_invoice": "Vendor bill", "in_refund": "Supplier credit note"}


class InvoiceLine(db.Model):
    """One line of a document: quantity x unit price, less a discount, plus a tax."""

    __tablename__ = "finance_invoice_line"
    __table_args__ = (sa.CheckConstraint("discount >= 0 AND discount <= 100", name="discount_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_invoice.id"), index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.String(300))
    product_ref: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, default=ZERO)
    discount: Mapped[Decimal] = mapped_column(Percent, default=ZERO)
    tax_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_tax.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"))
    amount_untaxed: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_tax: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    invoice = relationship(Invoice, back_populates="lines")
    tax = relationship(Tax, lazy="joined")
    account = relationship(Account, lazy="joined")


class Installment(db.Model):
    """One due date of a posted document and the amount due then (from its payment term)."""

    __tablename__ = "finance_installment"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_invoice.id"), index=True)
    due_date: Mapped[dt.date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Money)


class Payment(Timestamped, db.Model):
    """Money received from a customer (inbound) or paid to a supplier (outbound).

    What is not allocated to documents stays as the party's credit, usable later.
    """

    __tablename__ = "finance_payment"
    __table_args__ = (
        sa.CheckConstraint("direction IN ('inbound', 'outbound')", name="direction_known"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("amount_allocated >= 0 AND amount_allocated <= amount",
                           name="allocated_range"),
        sa.CheckConstraint("customer_id IS NOT NULL OR supplier_id IS NOT NULL", name="has_party"),
    )
    __state__ = "state"
    __state_columns__ = ("state", "amount_allocated")

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(sa.String(10))
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_customer.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_supplier.id"), index=True)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"))
    date: Mapped[dt.date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(1))
    amount_allocated: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(10), default="posted", index=True)
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"), unique=True)
    cancel_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"), unique=True)

    customer = relationship(Customer, lazy="joined")
    supplier = relationship(Supplier, lazy="joined")
    journal = relationship(Journal, lazy="joined")
    entry = relationship(JournalEntry, foreign_keys=[entry_id])
    allocations = relationship("Allocation", foreign_keys="Allocation.payment_id",
                               back_populates="payment")

    @property
    def amount_unallocated(self) -> Decimal:
        return self.amount - self.amount_allocated

    @property
    def partner(self):
        return self.customer if self.direction == "inbound" else self.supplier

    @property
    def label(self) -> str:
        return self.number or f"Payment {self.id}"


class Allocation(db.Model):
    """Part of a payment or credit note settling an invoice or bill (in the invoice currency).

    ``amount_company`` is that part in the company currency at the invoice's rate,
    ``source_amount_company`` at the payment's (credit note's) rate; when they differ the
    exchange difference is posted (``fx_entry_id``).
    """

    __tablename__ = "finance_allocation"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("(payment_id IS NULL) <> (credit_note_id IS NULL)", name="one_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_invoice.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_payment.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_invoice.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    amount_company: Mapped[Decimal] = mapped_column(Money)
    source_amount_company: Mapped[Decimal] = mapped_column(Money)
    fx_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"))
    date: Mapped[dt.date] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    invoice = relationship(Invoice, foreign_keys=[invoice_id])
    credit_note = relationship(Invoice, foreign_keys=[credit_note_id])
    payment = relationship(Payment, foreign_keys=[payment_id], back_populates="allocations")


class BillingSchedule(Timestamped, db.Model):
    """A recurring invoice (contract, renewal): lines billed every period from ``start_date``.

    ``periods_done`` counts the periods already invoiced; each period's invoice is unique
    on (schedule, period start), so running the schedules twice bills nothing twice.
    """

    __tablename__ = "finance_billing_schedule"
    __table_args__ = (sa.CheckConstraint("end_date IS NULL OR end_date >= start_date",
                                         name="dates_ordered"),)
    __state_columns__ = ("next_date", "periods_done")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_customer.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(10), default="monthly")
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date | None] = mapped_column()
    next_date: Mapped[dt.date | None] = mapped_column(index=True)
    periods_done: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3))
    auto_post: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    customer = relationship(Customer, lazy="joined")
    lines = relationship("BillingScheduleLine", order_by="BillingScheduleLine.sequence",
                         cascade="all, delete-orphan")


class BillingScheduleLine(db.Model):
    """One line billed every period by a schedule."""

    __tablename__ = "finance_billing_schedule_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_billing_schedule.id"), index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.String(300))
    product_ref: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, default=ZERO)
    discount: Mapped[Decimal] = mapped_column(Percent, default=ZERO)
    tax_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_tax.id"))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))


from plugins.erp_finance import guards  # noqa: E402  (the immutability guard)

guards.install_mapper_guards()
