"""Validation and output shape of finance records (API and forms)."""
from decimal import Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import fields, validate

from core.api import ListArgs, UtcDateTime
from core.options import Choice, OptionList
from plugins.erp_finance.models import (ACCOUNT_TYPES, CONTROL_KINDS, INVOICE_KINDS, INVOICE_STATES,
                                        JOURNAL_TYPES, PERIODS, TAX_SCOPES)

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD", "JPY")
INVOICE_STATE = OptionList("finance.invoice_state", "Invoice states",
                           tuple((s, s.replace("_", " ").capitalize()) for s in INVOICE_STATES), editable=False)
MAX_MONEY = Decimal(10) ** 15


def _places(n: int):
    def check(value: Decimal) -> None:
        try:
            if value != value.quantize(Decimal(1).scaleb(-n)):
                raise ma.ValidationError(f"Use at most {n} decimals.")
        except InvalidOperation:
            raise ma.ValidationError("Too large.") from None
    return check


class ExactDecimal(fields.Decimal):
    """A decimal given as a string (or an integer): a JSON float cannot hold most cents exactly."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise ma.ValidationError('Give amounts as decimal strings, e.g. "12.50".')
        return super()._deserialize(value, attr, data, **kwargs)


def MoneyField(**kwargs):  # noqa: N802 (a field factory, named like a field)
    """An amount as a decimal string with at most two decimals ("1250.00")."""
    minimum = kwargs.pop("minimum", Decimal(0))
    kwargs.setdefault("metadata", {"description": 'Decimal string, e.g. "1250.00"'})
    return ExactDecimal(as_string=True, validate=[_places(2), validate.Range(min=minimum, max=MAX_MONEY)],
                        **kwargs)


def DecimalField(places: int, minimum=0, maximum=MAX_MONEY, **kwargs):  # noqa: N802
    kwargs.setdefault("metadata", {"description": f"Decimal string, up to {places} decimals"})
    return ExactDecimal(as_string=True, validate=[_places(places), validate.Range(min=minimum, max=maximum)],
                        **kwargs)


class _PartySchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tax_id = fields.String(allow_none=True, validate=validate.Length(max=50))
    email = fields.Email(allow_none=True)
    billing_address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    currency = fields.String(load_default="EUR", validate=validate.OneOf(CURRENCIES))
    payment_terms_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=365))
    payment_term_id = fields.Integer(allow_none=True, metadata={
        "description": "A payment term (overrides payment_terms_days)"})
    credit_limit = ExactDecimal(places=2, as_string=True, load_default="0.00",
                                  validate=validate.Range(min=0, max=10**15),
                                  metadata={"description": "Decimal string, e.g. \"5000.00\"; "
                                                           "0.00 means no limit is set"})
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


class CustomerSchema(_PartySchema):
    pass


class SupplierSchema(_PartySchema):
    pass


class PaymentTermSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    schedule = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "Parts like '100% 30d' or '50% now, 50% 30d' (shares add up to 100%)"})
    active = fields.Boolean(load_default=True)

    @ma.validates("schedule")
    def _schedule(self, value, **_kwargs):
        from core.errors import ValidationFailed
        from plugins.erp_finance.parties import parse_schedule

        try:
            parse_schedule(value)
        except ValidationFailed as exc:
            raise ma.ValidationError(exc.errors["schedule"]) from None


class LedgerAccountSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Za-z.\-]{1,20}$",
                                                                 error="Letters, digits, '.' and '-' only."))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(ACCOUNT_TYPES))
    control = fields.String(allow_none=True, validate=validate.OneOf(CONTROL_KINDS), metadata={
        "description": "receivable or payable for the control accounts only documents post to"})
    active = fields.Boolean(load_default=True)


class JournalSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{1,10}$",
                                                                 error="1-10 capital letters or digits."))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(required=True, validate=validate.OneOf(JOURNAL_TYPES))
    refund_code = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[A-Z0-9]{1,10}$", error="1-10 capital letters or digits."))
    default_account_id = fields.Integer(allow_none=True)
    active = fields.Boolean(load_default=True)
    entry_count = fields.Integer(dump_only=True)


class TaxSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    rate = DecimalField(4, minimum=0, maximum=Decimal("99.9999"), required=True)
    price_included = fields.Boolean(load_default=False)
    scope = fields.String(load_default="sale", validate=validate.OneOf(TAX_SCOPES))
    account_id = fields.Integer(required=True)
    active = fields.Boolean(load_default=True)


class FiscalYearSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    date_start = fields.Date(required=True)
    date_end = fields.Date(required=True)
    state = fields.String(load_default="open", validate=validate.OneOf(("open", "closed")))


class ExchangeRateSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    currency = fields.String(required=True, validate=validate.OneOf(CURRENCIES))
    date = fields.Date(required=True)
    rate = DecimalField(8, minimum=Decimal("0.00000001"), maximum=Decimal(10**9), required=True,
                        )


class FinanceSettingsSchema(ma.Schema):
    company_name = fields.String(validate=validate.Length(min=1, max=200))
    company_address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    company_tax_id = fields.String(allow_none=True, validate=validate.Length(max=50))
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    lock_date = fields.Date(allow_none=True, metadata={"description": "Nothing is posted on or before it"})
    receivable_account_id = fields.Integer(allow_none=True)
    payable_account_id = fields.Integer(allow_none=True)
    income_account_id = fields.Integer(allow_none=True)
    expense_account_id = fields.Integer(allow_none=True)
    fx_account_id = fields.Integer(allow_none=True)
    sale_journal_id = fields.Integer(allow_none=True)
    purchase_journal_id = fields.Integer(allow_none=True)
    bank_journal_id = fields.Integer(allow_none=True)
    misc_journal_id = fields.Integer(allow_none=True)
    sale_tax_id = fields.Integer(allow_none=True)
    purchase_tax_id = fields.Integer(allow_none=True)


# --- journal entries ---


class EntryLineInputSchema(ma.Schema):
    account_id = fields.Integer(required=True)
    debit = MoneyField(load_default=Decimal("0.00"))
    credit = MoneyField(load_default=Decimal("0.00"))
    customer_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=200))


class EntryInputSchema(ma.Schema):
    journal_id = fields.Integer(required=True)
    date = fields.Date(load_default=None)
    ref = fields.String(allow_none=True, validate=validate.Length(max=200))
    narration = fields.String(allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(EntryLineInputSchema), required=True,
                        validate=validate.Length(min=2, max=500))
    post = fields.Boolean(load_default=False, metadata={"description": "Post at once"})


class EntryLineSchema(ma.Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    account_code = fields.String(attribute="account.code")
    account_name = fields.String(attribute="account.name")
    customer_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    description = fields.String(allow_none=True)
    debit = fields.Decimal(as_string=True)
    credit = fields.Decimal(as_string=True)
    currency = fields.String()
    amount_currency = fields.Decimal(as_string=True)


class EntrySchema(ma.Schema):
    id = fields.Integer()
    journal_id = fields.Integer()
    journal_code = fields.String(attribute="journal.code")
    number = fields.String(allow_none=True)
    date = fields.Date()
    ref = fields.String(allow_none=True)
    narration = fields.String(allow_none=True)
    state = fields.String()
    source = fields.String()
    currency = fields.String()
    total_debit = fields.Decimal(as_string=True)
    total_credit = fields.Decimal(as_string=True)
    reversal_of_id = fields.Integer(allow_none=True)
    posted_at = UtcDateTime(allow_none=True)
    hash = fields.String(allow_none=True)
    prev_hash = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(EntryLineSchema))


class EntryListArgs(ListArgs):
    journal_id = fields.Integer()
    state = fields.String(validate=validate.OneOf(("draft", "posted")))
    date_from = fields.Date()
    date_to = fields.Date()


class EntryReverseSchema(ma.Schema):
    date = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


# --- invoices ---


class InvoiceLineInputSchema(ma.Schema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    product_ref = fields.String(allow_none=True, validate=validate.Length(max=64))
    quantity = DecimalField(3, minimum=Decimal("0.001"), load_default=Decimal("1"))
    unit_price = DecimalField(4, required=True)
    discount = DecimalField(2, maximum=100, load_default=Decimal("0"),
                            metadata={"description": "Percent"})
    tax_id = fields.Integer(allow_none=True)
    account_id = fields.Integer(allow_none=True, metadata={
        "description": "Income (expense) account; default from the settings"})


class InvoiceInputSchema(ma.Schema):
    customer_id = fields.Integer(metadata={"description": "Customer documents"})
    supplier_id = fields.Integer(metadata={"description": "Supplier documents"})
    date = fields.Date(load_default=None)
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    payment_term_id = fields.Integer(allow_none=True)
    journal_id = fields.Integer()
    reference = fields.String(allow_none=True, validate=validate.Length(max=100))
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(InvoiceLineInputSchema), validate=validate.Length(max=500))
    post = fields.Boolean(load_default=False, metadata={"description": "Post at once"})


class InvoiceLineSchema(ma.Schema):
    id = fields.Integer()
    description = fields.String()
    product_ref = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    discount = fields.Decimal(as_string=True)
    tax_id = fields.Integer(allow_none=True)
    account_id = fields.Integer()
    amount_untaxed = fields.Decimal(as_string=True)
    amount_tax = fields.Decimal(as_string=True)
    amount_total = fields.Decimal(as_string=True)


class InstallmentSchema(ma.Schema):
    due_date = fields.Date()
    amount = fields.Decimal(as_string=True)


class InvoiceSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    number = fields.String(allow_none=True)
    state = Choice(INVOICE_STATE)
    customer_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    partner_name = fields.String(attribute="partner.name")
    journal_id = fields.Integer()
    date = fields.Date()
    due_date = fields.Date(allow_none=True)
    currency = fields.String()
    rate = fields.Decimal(as_string=True, allow_none=True)
    payment_term_id = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    origin_id = fields.Integer(allow_none=True)
    entry_id = fields.Integer(allow_none=True)
    schedule_id = fields.Integer(allow_none=True)
    period_start = fields.Date(allow_none=True)
    amount_untaxed = fields.Decimal(as_string=True)
    amount_tax = fields.Decimal(as_string=True)
    amount_total = fields.Decimal(as_string=True)
    amount_paid = fields.Decimal(as_string=True)
    amount_residual = fields.Decimal(as_string=True)
    amount_total_company = fields.Decimal(as_string=True)
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    installments = fields.List(fields.Nested(InstallmentSchema))
    created_at = UtcDateTime()


class InvoiceListArgs(ListArgs):
    state = Choice(INVOICE_STATE, offered_only=False)
    customer_id = fields.Integer()
    supplier_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(INVOICE_KINDS))
    overdue = fields.Boolean()


class CreditNoteInputSchema(ma.Schema):
    date = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(InvoiceLineInputSchema), load_default=None, metadata={
        "description": "Partial credit: the lines to credit; leave out to credit the whole invoice"})
    post = fields.Boolean(load_default=True)


# --- payments ---


class AllocationInputSchema(ma.Schema):
    invoice_id = fields.Integer(required=True)
    amount = MoneyField(required=True)


class PaymentInputSchema(ma.Schema):
    customer_id = fields.Integer(metadata={"description": "Money received from this customer"})
    supplier_id = fields.Integer(metadata={"description": "Money paid to this supplier"})
    amount = MoneyField(required=True, minimum=Decimal("0.01"))
    date = fields.Date(load_default=None)
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    journal_id = fields.Integer(metadata={"description": "Bank or cash journal"})
    reference = fields.String(allow_none=True, validate=validate.Length(max=100))
    allocations = fields.List(fields.Nested(AllocationInputSchema), load_default=list)
    auto_allocate = fields.Boolean(load_default=False, metadata={
        "description": "Without allocations: settle the oldest open invoices first"})

    @ma.validates_schema
    def _one_party(self, data, **_kwargs):
        if bool(data.get("customer_id")) == bool(data.get("supplier_id")):
            raise ma.ValidationError("Give either customer_id or supplier_id.", "customer_id")


class AllocationSchema(ma.Schema):
    id = fields.Integer()
    invoice_id = fields.Integer()
    invoice_number = fields.String(attribute="invoice.number")
    payment_id = fields.Integer(allow_none=True)
    credit_note_id = fields.Integer(allow_none=True)
    amount = fields.Decimal(as_string=True)
    amount_company = fields.Decimal(as_string=True)
    date = fields.Date()


class PaymentSchema(ma.Schema):
    id = fields.Integer()
    direction = fields.String()
    number = fields.String()
    state = fields.String()
    customer_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    partner_name = fields.String(attribute="partner.name")
    journal_id = fields.Integer()
    date = fields.Date()
    amount = fields.Decimal(as_string=True)
    currency = fields.String()
    rate = fields.Decimal(as_string=True)
    amount_allocated = fields.Decimal(as_string=True)
    amount_unallocated = fields.Decimal(as_string=True)
    reference = fields.String(allow_none=True)
    entry_id = fields.Integer()
    cancel_entry_id = fields.Integer(allow_none=True)
    allocations = fields.List(fields.Nested(AllocationSchema))


class PaymentListArgs(ListArgs):
    direction = fields.String(validate=validate.OneOf(("inbound", "outbound")))
    state = fields.String(validate=validate.OneOf(("posted", "cancelled")))
    customer_id = fields.Integer()
    supplier_id = fields.Integer()


class AllocateSchema(ma.Schema):
    invoice_id = fields.Integer(required=True)
    amount = MoneyField(load_default=None, minimum=Decimal("0.01"),
                        allow_none=True)


class PaymentCancelSchema(ma.Schema):
    date = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


# --- billing schedules ---


class BillingScheduleSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    customer_id = fields.Integer(required=True)
    period = fields.String(load_default="monthly", validate=validate.OneOf(tuple(PERIODS)))
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True)
    currency = fields.String(allow_none=True, validate=validate.OneOf(CURRENCIES))
    auto_post = fields.Boolean(load_default=True)
    active = fields.Boolean(load_default=True)
    next_date = fields.Date(dump_only=True, allow_none=True)
    periods_done = fields.Integer(dump_only=True)
    lines = fields.List(fields.Nested(InvoiceLineInputSchema), validate=validate.Length(min=1, max=200))


class RunSchedulesSchema(ma.Schema):
    date = fields.Date(load_default=None, metadata={"description": "Bill periods started by this date (default today)"})


# --- credit control and reports ---


class CustomerStatusSchema(ma.Schema):
    customer_id = fields.Integer()
    currency = fields.String()
    balance = fields.Decimal(as_string=True)
    overdue_amount = fields.Decimal(as_string=True)
    oldest_overdue_days = fields.Integer()
    open_invoices = fields.Integer()
    credit_limit = fields.Decimal(as_string=True)
    available_credit = fields.Decimal(as_string=True, allow_none=True,
                                      metadata={"description": "null when no limit is set"})
    over_limit = fields.Boolean()
    last_payment_date = fields.Date(allow_none=True)
    last_payment_amount = fields.Decimal(as_string=True, allow_none=True)


class FinancePeriodArgs(ma.Schema):
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ma.ValidationError("Must not be before date_from.", "date_to")


class GeneralLedgerArgs(FinancePeriodArgs):
    account_id = fields.Integer(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class FinanceAsOfArgs(ma.Schema):
    as_of = fields.Date(load_default=None)


class OverdueInvoiceArgs(ma.Schema):
    as_of = fields.Date(load_default=None)
    min_days = fields.Integer(load_default=1, validate=validate.Range(min=0, max=3650))


def _amount(**kwargs):
    return fields.Decimal(as_string=True, **kwargs)


class TrialBalanceRowSchema(ma.Schema):
    account_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    type = fields.String()
    opening = _amount()
    debit = _amount()
    credit = _amount()
    closing = _amount()


class TrialBalanceSchema(ma.Schema):
    date_from = fields.Date()
    date_to = fields.Date()
    currency = fields.String()
    rows = fields.List(fields.Nested(TrialBalanceRowSchema))
    totals = fields.Dict(keys=fields.String(), values=fields.Decimal(as_string=True))
    balanced = fields.Boolean()


class LedgerRowSchema(ma.Schema):
    entry_id = fields.Integer()
    date = fields.Date()
    number = fields.String()
    ref = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    partner = fields.String(allow_none=True)
    debit = _amount()
    credit = _amount()
    currency = fields.String()
    amount_currency = _amount()
    balance = _amount()


class GeneralLedgerSchema(ma.Schema):
    account = fields.Dict()
    date_from = fields.Date()
    date_to = fields.Date()
    currency = fields.String()
    opening = _amount()
    debit = _amount()
    credit = _amount()
    closing = _amount()
    rows = fields.List(fields.Nested(LedgerRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class FinanceReportLineSchema(ma.Schema):
    account_id = fields.Integer(allow_none=True)
    code = fields.String()
    name = fields.String()
    amount = _amount()


class FinanceReportSectionSchema(ma.Schema):
    rows = fields.List(fields.Nested(FinanceReportLineSchema))
    total = _amount()


class ProfitAndLossSchema(ma.Schema):
    date_from = fields.Date()
    date_to = fields.Date()
    currency = fields.String()
    income = fields.Nested(FinanceReportSectionSchema)
    expense = fields.Nested(FinanceReportSectionSchema)
    profit = _amount()


class BalanceSheetSchema(ma.Schema):
    as_of = fields.Date()
    currency = fields.String()
    assets = fields.Nested(FinanceReportSectionSchema)
    liabilities = fields.Nested(FinanceReportSectionSchema)
    equity = fields.Nested(FinanceReportSectionSchema)
    liabilities_and_equity = _amount()
    balanced = fields.Boolean()


class AgingRowSchema(ma.Schema):
    party_id = fields.Integer()
    name = fields.String()
    current = _amount()
    d1_30 = _amount(data_key="1-30", attribute="1-30")
    d31_60 = _amount(data_key="31-60", attribute="31-60")
    d61_90 = _amount(data_key="61-90", attribute="61-90")
    over_90 = _amount(data_key="over 90", attribute="over 90")
    total = _amount()


class AgingSchema(ma.Schema):
    side = fields.String()
    as_of = fields.Date()
    currency = fields.String()
    buckets = fields.List(fields.String())
    rows = fields.List(fields.Nested(AgingRowSchema))
    totals = fields.Dict(keys=fields.String(), values=fields.Decimal(as_string=True))


class FinanceRevenueRowSchema(ma.Schema):
    month = fields.String()
    revenue = _amount()


class FinanceRevenueSchema(ma.Schema):
    date_from = fields.Date()
    date_to = fields.Date()
    currency = fields.String()
    rows = fields.List(fields.Nested(FinanceRevenueRowSchema))
    total = _amount()


class OverdueInvoiceRowSchema(ma.Schema):
    invoice_id = fields.Integer()
    number = fields.String()
    customer_id = fields.Integer()
    customer = fields.String()
    email = fields.String(allow_none=True)
    due_date = fields.Date()
    days_overdue = fields.Integer()
    overdue_amount = _amount()
    currency = fields.String()


class OverdueInvoicesSchema(ma.Schema):
    as_of = fields.Date()
    rows = fields.List(fields.Nested(OverdueInvoiceRowSchema))


class ChainCheckSchema(ma.Schema):
    journal = fields.String()
    entries = fields.Integer()
    ok = fields.Boolean()
    problem = fields.String(allow_none=True)
    entry_id = fields.Integer(allow_none=True)
    entry_number = fields.String(allow_none=True)


class LedgerVerifySchema(ma.Schema):
    ok = fields.Boolean()
    journals = fields.List(fields.Nested(ChainCheckSchema))
