"""Shapes of the bridge's links, settings, orders, status, case credits and drift."""
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from core.admin.schemas import EventSchema
from core.api import UtcDateTime
from plugins.bridge.models import CREDIT_MODES, INVOICE_POLICIES, PERIODS


def Money(**kw):  # noqa: N802 - a field factory
    return fields.Decimal(as_string=True, places=2, **kw)


def Exact(places: int, **kw):  # noqa: N802 - a field factory
    """A decimal input more than 0 with at most ``places`` decimals (never rounded)."""
    def check(value: Decimal) -> None:
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise ma.ValidationError(f"Use at most {places} decimals.")

    kw.setdefault("metadata", {"description": f"Decimal string, up to {places} decimals"})
    return fields.Decimal(as_string=True, validate=[
        validate.Range(min=Decimal(1).scaleb(-places), max=Decimal(10) ** 12), check], **kw)


class AccountLinkSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    account_id = fields.Integer(required=True)
    tax_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    customer_id = fields.Integer(dump_only=True)
    matched_by = fields.String(dump_only=True)
    linked_at = UtcDateTime(dump_only=True)
    synced_at = UtcDateTime(dump_only=True)


class ConflictSchema(ma.Schema):
    field = fields.String()
    crm = fields.String(allow_none=True)
    finance = fields.String(allow_none=True)
    synced = fields.String(allow_none=True)


class SyncSchema(ma.Schema):
    """Which side wins each conflicting field, e.g. ``{"resolve": {"name": "finance"}}``."""

    resolve = fields.Dict(keys=fields.String(validate=validate.OneOf(("name", "address", "tax_id"))),
                          values=fields.String(validate=validate.OneOf(("crm", "finance"))),
                          load_default=dict)


class SyncResultSchema(ma.Schema):
    conflicts = fields.List(fields.Nested(ConflictSchema))


class BridgeSettingsSchema(ma.Schema):
    invoice_policy = fields.String(validate=validate.OneOf(INVOICE_POLICIES))
    shortage_blocking = fields.Boolean()
    overdue_days = fields.Integer(validate=validate.Range(min=0, max=3650))
    renewal_days = fields.Integer(validate=validate.Range(min=0, max=3650))


class OrderInvoiceSchema(ma.Schema):
    invoice_id = fields.Integer()
    number = fields.String(allow_none=True)
    state = fields.String()
    amount = Money()


class OrderLineSchema(ma.Schema):
    description = fields.String()
    product_ref = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    unit_price = Money()
    net = Money()
    reserved = fields.Decimal(as_string=True)
    backordered = fields.Decimal(as_string=True)
    delivered = fields.Decimal(as_string=True)
    invoiced = fields.Decimal(as_string=True)


class SalesOrderSchema(ma.Schema):
    id = fields.Integer()
    number = fields.String()
    deal_id = fields.Integer()
    account_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    currency = fields.String()
    amount = Money()
    invoice_policy = fields.String()
    state = fields.String()
    override_reason = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))
    invoices = fields.List(fields.Nested(OrderInvoiceSchema))
    created_at = UtcDateTime()


class OrderStatusSchema(ma.Schema):
    id = fields.Integer()
    number = fields.String()
    deal_id = fields.Integer()
    state = fields.String()
    amount = Money()
    currency = fields.String()
    invoice_policy = fields.String()
    delivery_state = fields.String()
    invoice_state = fields.String()
    invoices = fields.List(fields.Nested(OrderInvoiceSchema))


class FinancialStatusSchema(ma.Schema):
    customer_id = fields.Integer()
    customer = fields.String()
    currency = fields.String()
    balance = Money()
    overdue = Money()
    oldest_overdue_days = fields.Integer()
    credit_limit = Money()
    available_credit = Money(allow_none=True, metadata={"description": "null when no limit is set"})
    over_limit = fields.Boolean()
    last_payment_date = fields.Date(allow_none=True)
    last_payment_amount = Money(allow_none=True)
    open_invoices = fields.Integer()


class AccountStatusSchema(ma.Schema):
    account_id = fields.Integer()
    financial = fields.Nested(FinancialStatusSchema, allow_none=True)
    orders = fields.List(fields.Nested(OrderStatusSchema))


class ContractSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    deal_id = fields.Integer(dump_only=True)
    period = fields.String(load_default="monthly", validate=validate.OneOf(PERIODS))
    term_months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=120))
    starts_on = fields.Date(dump_only=True)
    ends_on = fields.Date(dump_only=True)
    schedule_id = fields.Integer(dump_only=True, allow_none=True)
    renewal_deal_id = fields.Integer(dump_only=True, allow_none=True)


class ReconcileArgsSchema(ma.Schema):
    fix = fields.Boolean(load_default=False)


class DriftSchema(ma.Schema):
    kind = fields.String()
    reason = fields.String()
    ref = fields.String()
    fixable = fields.Boolean()
    fixed = fields.Boolean()


class RevenueArgsSchema(ma.Schema):
    """The months to show (both or neither): six back to five ahead by default."""

    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if bool(data.get("date_from")) != bool(data.get("date_to")):
            raise ma.ValidationError("Give both date_from and date_to, or neither.", "date_to")
        if data.get("date_from") and data["date_to"] < data["date_from"]:
            raise ma.ValidationError("Must not be before date_from.", "date_to")
        if data.get("date_from") and (data["date_to"] - data["date_from"]).days > 3 * 366:
            raise ma.ValidationError("At most three years at a time.", "date_to")


class RevenueMonthSchema(ma.Schema):
    month = fields.String(metadata={"description": "YYYY-MM"})
    deals = fields.Integer(metadata={"description": "Open deals expected to close that month"})
    pipeline = Money(metadata={"description": "Their total value"})
    weighted = Money(metadata={"description": "Their value weighted by probability"})
    recognised = Money(allow_none=True, metadata={"description": "Income posted in finance that "
                                                                 "month (null without finance)"})


class ExpectedPaymentSchema(ma.Schema):
    invoice_id = fields.Integer()
    number = fields.String()
    customer_id = fields.Integer()
    customer = fields.String()
    due_date = fields.Date()
    days_overdue = fields.Integer()
    open_amount = Money()
    currency = fields.String()
    deal_id = fields.Integer(allow_none=True)
    deal = fields.String(allow_none=True)
    order = fields.String(allow_none=True)
    rep_id = fields.Integer(allow_none=True)
    rep = fields.String(allow_none=True)


class RevenueTotalsSchema(ma.Schema):
    pipeline = Money()
    weighted = Money()
    recognised = Money(allow_none=True)


class RevenueViewSchema(ma.Schema):
    date_from = fields.Date()
    date_to = fields.Date()
    currency = fields.String(allow_none=True)
    months = fields.List(fields.Nested(RevenueMonthSchema))
    totals = fields.Nested(RevenueTotalsSchema)
    expected_payments = fields.List(fields.Nested(ExpectedPaymentSchema))


class HandoffFailureSchema(ma.Schema):
    id = fields.Integer()
    event = fields.String(metadata={"description": "The hook that could not be carried: on_invoice_paid..."})
    payload = fields.Dict(metadata={"description": "The event as it was emitted"})
    reason = fields.String()
    attempts = fields.Integer()
    created_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)


class HealthSchema(ma.Schema):
    drift = fields.Integer(metadata={"description": "Drifts the reconciliation finds now"})
    failures = fields.List(fields.Nested(HandoffFailureSchema),
                           metadata={"description": "Hand-offs still to retry, newest first"})
    resolved = fields.List(fields.Nested(HandoffFailureSchema))
    events = fields.List(fields.Nested(EventSchema),
                         metadata={"description": "Latest events the bridge acts on"})


# --- cases resolved with a credit ---


class CreditLineSchema(ma.Schema):
    line_id = fields.Integer(required=True, metadata={"description": "A line of the invoice"})
    quantity = Exact(3, required=True, metadata={"description": "How much of it to credit (at most "
                                                                "the quantity invoiced)"})


class CaseCreditSchema(ma.Schema):
    """The credit note a resolution agrees: which invoice of the case's account, what of it,
    and why."""

    invoice_id = fields.Integer(required=True, metadata={
        "description": "A posted invoice of the case account's customer (see GET .../invoices)"})
    mode = fields.String(required=True, validate=validate.OneOf(CREDIT_MODES), metadata={
        "description": "whole: every line of the invoice; lines: the chosen lines and quantities; "
                       "amount: an amount, tax included, spread over the invoice's taxes pro rata "
                       "of its net per tax"})
    lines = fields.List(fields.Nested(CreditLineSchema), validate=validate.Length(min=1, max=500),
                        metadata={"description": "mode lines only"})
    amount = Exact(2, metadata={"description": "mode amount only: the total credited, tax included"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "Why the customer is credited (the credit note's notes)"})

    @ma.validates_schema
    def _one_way(self, data, **_kwargs):
        mode = data.get("mode")
        for field in ("lines", "amount"):
            if mode == field and field not in data:
                raise ma.ValidationError(f"Required with mode {field}.", field)
            if mode != field and field in data:
                raise ma.ValidationError(f"Only with mode {field}.", field)
        if not (data.get("reason") or "").strip():
            raise ma.ValidationError("Say why the customer is credited.", "reason")


class CaseResolutionSchema(ma.Schema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    credit = fields.Nested(CaseCreditSchema, load_default=None, allow_none=True, metadata={
        "description": "The credit note to issue and post with the resolution; leave out for a "
                       "resolution without one"})


class CaseCreditNoteSchema(ma.Schema):
    invoice_id = fields.Integer(metadata={"description": "The invoice credited"})
    credit_note_id = fields.Integer()
    number = fields.String(allow_none=True)
    amount = Money(metadata={"description": "The credit note's total, tax included"})
    currency = fields.String()


class ResolvedCaseSchema(ma.Schema):
    id = fields.Integer()
    subject = fields.String()
    account_id = fields.Integer(allow_none=True)
    status = fields.String()
    resolution = fields.String(allow_none=True)
    resolved_at = UtcDateTime(allow_none=True)
    credit_note = fields.Nested(CaseCreditNoteSchema, allow_none=True)


class CreditableLineSchema(ma.Schema):
    line_id = fields.Integer(attribute="id")
    description = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    discount = fields.Decimal(as_string=True)
    tax_id = fields.Integer(allow_none=True)
    tax = fields.String(attribute="tax.name", metadata={"description": "Its tax (left out without)"})
    amount_untaxed = Money()
    amount_tax = Money()
    amount_total = Money()


class CreditableInvoiceSchema(ma.Schema):
    invoice_id = fields.Integer(attribute="invoice.id")
    number = fields.String(attribute="invoice.number")
    date = fields.Date(attribute="invoice.date")
    currency = fields.String(attribute="invoice.currency")
    amount_untaxed = Money(attribute="invoice.amount_untaxed")
    amount_tax = Money(attribute="invoice.amount_tax")
    amount_total = Money(attribute="invoice.amount_total")
    credit_left = Money(metadata={"description": "Its total less the credit notes issued against it"})
    lines = fields.List(fields.Nested(CreditableLineSchema), attribute="invoice.lines")
