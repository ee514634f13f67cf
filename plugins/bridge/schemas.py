"""Shapes of the bridge's links, settings, orders, status and drift."""
import marshmallow as ma
from marshmallow import fields, validate

from core.admin.schemas import EventSchema
from core.api import UtcDateTime
from plugins.bridge.models import INVOICE_POLICIES, PERIODS


def Money(**kw):  # noqa: N802 - a field factory
    return fields.Decimal(as_string=True, places=2, **kw)


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
