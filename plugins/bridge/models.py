"""Bridge tables: links between CRM and ERP records (no foreign key into an optional plugin)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Money, Quantity, Timestamped, db, utcnow

INVOICE_POLICIES = ("on_order", "on_delivery")
PERIODS = ("monthly", "quarterly", "yearly")
CREDIT_MODES = ("whole", "lines", "amount")  # what of an invoice a case credits


class AccountLink(db.Model):
    """A CRM account and the finance customer that is the same organisation, linked once.

    ``synced_*`` keep the shared fields (legal name, billing address, tax id) as they were
    at the last sync: a side whose value differs from them changed since.
    """

    __tablename__ = "bridge_account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_account.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(unique=True)  # finance_customer.id (optional plugin)
    matched_by: Mapped[str] = mapped_column(sa.String(20))  # link | tax id | domain | name | created
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    tax_id: Mapped[str | None] = mapped_column(sa.String(50))  # the CRM side's tax id (CRM has no field)
    synced_name: Mapped[str | None] = mapped_column(sa.String(200))
    synced_address: Mapped[str | None] = mapped_column(sa.Text)
    synced_tax_id: Mapped[str | None] = mapped_column(sa.String(50))
    synced_at: Mapped[dt.datetime | None]


class Settings(db.Model):
    """The bridge settings: one row (id 1)."""

    __tablename__ = "bridge_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_policy: Mapped[str] = mapped_column(sa.String(20), default="on_order")
    shortage_blocking: Mapped[bool] = mapped_column(default=False)
    overdue_days: Mapped[int] = mapped_column(default=30)
    renewal_days: Mapped[int] = mapped_column(default=30)


class SalesOrder(Timestamped, db.Model):
    """What a won deal became: the order the ERP side delivers and invoices."""

    __tablename__ = "bridge_sales_order"
    __state__ = "state"
    __state_columns__ = ("state",)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_deal.id"), unique=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(index=True)  # finance_customer.id
    quote_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_quote.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    invoice_policy: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(20), default="open")  # open | done | cancelled
    override_reason: Mapped[str | None] = mapped_column(sa.String(500))
    lines: Mapped[list[SalesOrderLine]] = relationship(
        lambda: SalesOrderLine, order_by=lambda: SalesOrderLine.position, lazy="selectin",
        cascade="all, delete-orphan")
    invoices: Mapped[list[OrderInvoice]] = relationship(
        lambda: OrderInvoice, order_by=lambda: OrderInvoice.id, lazy="selectin",
        cascade="all, delete-orphan")


class SalesOrderLine(db.Model):
    """One line of an order; ``product_ref`` is the inventory SKU when it is a product."""

    __tablename__ = "bridge_sales_order_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("bridge_sales_order.id", ondelete="CASCADE"),
                                          index=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.String(500))
    product_ref: Mapped[str | None] = mapped_column(sa.String(100))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    discount: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    backordered: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    delivered: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    invoiced: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))


class OrderInvoice(db.Model):
    """A finance document made for an order (an invoice, or a credit note from a case)."""

    __tablename__ = "bridge_order_invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("bridge_sales_order.id", ondelete="CASCADE"),
                                          index=True)
    invoice_id: Mapped[int] = mapped_column(unique=True)  # finance_invoice.id
    delivery_id: Mapped[int | None]  # inventory_document.id when invoiced on delivery
    number: Mapped[str | None] = mapped_column(sa.String(40))
    state: Mapped[str] = mapped_column(sa.String(20), default="posted")  # as last heard from finance
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reflected: Mapped[bool] = mapped_column(default=False)  # shown on the deal's timeline
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseCredit(db.Model):
    """A credit note finance issued because a CRM case was resolved with a credit (one per case)."""

    __tablename__ = "bridge_case_credit"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_case.id"), unique=True)
    invoice_id: Mapped[int]  # the invoice credited (finance_invoice.id)
    credit_note_id: Mapped[int] = mapped_column(unique=True)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Contract(Timestamped, db.Model):
    """A deal marked recurring: once won it is billed by a finance schedule, and a renewal
    deal is opened ``renewal_days`` (settings) before it ends."""

    __tablename__ = "bridge_contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_deal.id"), unique=True)
    period: Mapped[str] = mapped_column(sa.String(10), default="monthly")
    term_months: Mapped[int] = mapped_column(default=12)
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None] = mapped_column(index=True)
    schedule_id: Mapped[int | None]  # finance_billing_schedule.id
    renewal_deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_deal.id"))


class HandoffFailure(db.Model):
    """A status update from finance or inventory that could not be carried to CRM.

    The ERP action it followed stands (a payment received is a fact); the failure is kept
    with its event, to be retried from the integration health page or the API.
    """

    __tablename__ = "bridge_handoff_failure"
    __state__ = "state"
    __state_columns__ = ("resolved_at", "attempts")

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(100))  # the hook: on_invoice_paid...
    event_type: Mapped[str] = mapped_column(sa.String(200))  # module:Class of the payload
    payload: Mapped[dict] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    attempts: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[dt.datetime | None]

    @property
    def state(self) -> str:
        """``failed`` until a retry carries it through, then ``resolved``."""
        return "failed" if self.resolved_at is None else "resolved"
