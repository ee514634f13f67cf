"""Validation and output shape of CRM records (shared by the API and the forms)."""
import re

import marshmallow as ma
from marshmallow import fields, validate

from core.api import UtcDateTime
from core.options import Choice

from plugins.crm.models import ACTIVITY_KINDS, CASE_PRIORITIES, CURRENCIES, LEAD_STATUSES, QUOTE_STATES, SIZES
from plugins.crm.options import CASE_STATUS, CHANNEL, INDUSTRY, LOST_REASON, SOURCE

DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9-]+\.)+[a-z]{2,}$")
MONEY = {"as_string": True, "places": 2}


def _text(max_len: int, required: bool = False, **kw):
    if required:
        return fields.String(required=True, validate=[validate.Length(min=1, max=max_len),
                                                      validate.Regexp(r"\S", error="Enter a value.")], **kw)
    return fields.String(allow_none=True, validate=validate.Length(max=max_len), **kw)


def _id(**kw):
    return fields.Integer(allow_none=True, **kw)


def _money(**kw):
    return fields.Decimal(validate=validate.Range(min=0), **MONEY, **kw)


class _NotBlank(ma.Schema):
    """Refuses whitespace-only values of the required text fields."""

    @ma.validates_schema
    def _not_blank(self, data, **_kwargs):
        errors = {name: ["Enter a value."] for name, f in self.load_fields.items()
                  if f.required and isinstance(data.get(name), str) and not data[name].strip()}
        if errors:
            raise ma.ValidationError(errors)


class AccountSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    domain = fields.String(allow_none=True, validate=validate.Length(max=200))
    industry = Choice(INDUSTRY, allow_none=True)
    size = fields.String(allow_none=True, validate=validate.OneOf(SIZES))
    address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    phone = fields.String(allow_none=True, validate=validate.Length(max=50))
    tags = fields.String(allow_none=True, validate=validate.Length(max=500))
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)

    @ma.validates("domain")
    def _domain(self, value, **_kwargs):
        if value and not DOMAIN.match(value.strip().lower()):
            raise ma.ValidationError("Enter a domain like example.com.")

    @ma.validates("name")
    def _name(self, value, **_kwargs):
        if not value.strip():
            raise ma.ValidationError("Enter a name.")


class ContactSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    name = _text(200, required=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    email_alt = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = _text(50)
    mobile = _text(50)
    job_title = _text(120)
    account_id = _id()
    account_name = fields.String(dump_only=True, allow_none=True)
    owner_id = _id()
    owner_name = fields.String(dump_only=True, allow_none=True)
    tags = _text(500)
    source = Choice(SOURCE, allow_none=True)
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


class LeadSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    name = _text(200, required=True, metadata={"description": "The person's name"})
    company = _text(200)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = _text(50)
    source = Choice(SOURCE, allow_none=True)
    industry = Choice(INDUSTRY, allow_none=True)
    territory = _text(50)
    campaign_id = _id()
    campaign_name = fields.String(dump_only=True, allow_none=True)
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))
    owner_id = _id()
    owner_name = fields.String(dump_only=True, allow_none=True)
    notes = _text(5000)
    converted_at = UtcDateTime(dump_only=True, allow_none=True)
    contact_id = fields.Integer(dump_only=True, allow_none=True)
    account_id = fields.Integer(dump_only=True, allow_none=True)
    deal_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)


class ConvertLeadSchema(ma.Schema):
    create_deal = fields.Boolean(load_default=False)
    deal_title = _text(200)
    amount = _money(load_default=None, allow_none=True)
    currency = fields.String(load_default="EUR", validate=validate.OneOf(CURRENCIES))
    pipeline_id = _id()
    expected_close = fields.Date(allow_none=True)


class LeadCaptureSchema(_NotBlank):
    name = _text(200, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    company = _text(200)
    phone = _text(50)
    message = _text(5000)
    campaign_id = _id()
    homepage = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "Leave empty (a trap for robots)"})


class StageSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = _text(80, required=True)
    position = fields.Integer(dump_only=True)
    probability = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))
    is_won = fields.Boolean(load_default=False)
    is_lost = fields.Boolean(load_default=False)


class PipelineSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    name = _text(120, required=True)
    is_default = fields.Boolean(load_default=False)
    stages = fields.List(fields.Nested(StageSchema), load_default=None)
    stage_lines = fields.String(load_only=True, allow_none=True, metadata={
        "description": "Form input: one stage a line, 'Name, probability[, won|lost]'"})


class DealSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    title = _text(200, required=True)
    account_id = _id()
    account_name = fields.String(dump_only=True, allow_none=True)
    contact_id = _id()
    contact_name = fields.String(dump_only=True, allow_none=True)
    amount = _money(load_default=None)
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    pipeline_id = _id()
    stage_id = _id()
    stage_name = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "open, won or lost"})
    probability = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100))
    expected_close = fields.Date(allow_none=True)
    owner_id = _id()
    owner_name = fields.String(dump_only=True, allow_none=True)
    source = Choice(SOURCE, allow_none=True)
    campaign_id = _id()
    lead_id = fields.Integer(dump_only=True, allow_none=True)
    lost_reason = Choice(LOST_REASON, dump_only=True, allow_none=True)
    lost_note = fields.String(dump_only=True, allow_none=True)
    won_at = UtcDateTime(dump_only=True, allow_none=True)
    lost_at = UtcDateTime(dump_only=True, allow_none=True)
    override_reason = fields.String(dump_only=True, allow_none=True)
    last_activity_at = UtcDateTime(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)


class WinDealSchema(ma.Schema):
    override_reason = _text(500, metadata={"description": "Needed to win despite blocking problems "
                                                          "(permission crm.deal.override)"})


class LoseDealSchema(ma.Schema):
    reason = Choice(LOST_REASON, required=True)
    note = _text(500, metadata={"description": "More about why, in words"})


class MoveDealSchema(ma.Schema):
    stage_id = fields.Integer(required=True)
    override_reason = _text(500)
    lost_reason = Choice(LOST_REASON, allow_none=True, metadata={"description": "Needed to move to a lost stage"})
    lost_note = _text(500)


class ProblemSchema(ma.Schema):
    code = fields.String()
    message = fields.String()
    blocking = fields.Boolean()
    plugin = fields.String()
    override_permission = fields.String(metadata={"description": "Permission that lets a user win "
                                                                  "despite this problem, with a reason"})


class ActivitySchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    subject = _text(300, required=True)
    body = _text(20000)
    occurred_at = UtcDateTime(allow_none=True)
    author_id = fields.Integer(dump_only=True, allow_none=True)
    author_name = fields.String(dump_only=True, allow_none=True)
    contact_id = _id()
    account_id = _id()
    deal_id = _id()
    lead_id = _id()


class EmailLogSchema(ma.Schema):
    raw = fields.String(allow_none=True, metadata={"description": "The whole RFC 822 message"})
    sender = fields.String(data_key="from", allow_none=True, attribute="from")
    to = fields.List(fields.String(), load_default=list)
    subject = _text(300)
    body = fields.String(allow_none=True)
    date = UtcDateTime(allow_none=True)
    message_id = _text(300)
    deal_id = _id()

    @ma.validates_schema
    def _raw_or_parts(self, data, **_kwargs):
        if not data.get("raw") and not data.get("from"):
            raise ma.ValidationError({"raw": ["Send the raw message, or at least 'from'."]})


class TaskSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    title = _text(300, required=True)
    due_on = fields.Date(allow_none=True)
    assignee_id = _id()
    assignee_name = fields.String(dump_only=True, allow_none=True)
    done = fields.Boolean()
    done_at = UtcDateTime(dump_only=True, allow_none=True)
    state = fields.String(dump_only=True, metadata={"description": "open, overdue or done"})
    notes = _text(5000)
    contact_id = _id()
    account_id = _id()
    deal_id = _id()


class QuoteLineSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    description = _text(500)
    product_ref = _text(100)
    quantity = fields.Decimal(as_string=True, load_default=None, validate=validate.Range(min=0, min_inclusive=False))
    unit_price = _money(load_default=None, allow_none=True)
    discount = fields.Decimal(as_string=True, load_default=None, allow_none=True,
                              validate=validate.Range(min=0, max=100), metadata={"description": "Percent"})
    tax_rate = fields.Decimal(as_string=True, load_default=None, allow_none=True,
                              validate=validate.Range(min=0, max=100), metadata={"description": "Percent"})
    net = fields.Decimal(dump_only=True, **MONEY)
    tax = fields.Decimal(dump_only=True, **MONEY)


class QuoteSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    deal_id = fields.Integer(required=True)
    deal_title = fields.String(dump_only=True)
    state = fields.String(dump_only=True, validate=validate.OneOf(QUOTE_STATES))
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    valid_until = fields.Date(allow_none=True)
    notes = _text(5000)
    lines = fields.List(fields.Nested(QuoteLineSchema))
    subtotal = fields.Decimal(dump_only=True, **MONEY)
    tax_total = fields.Decimal(dump_only=True, **MONEY)
    total = fields.Decimal(dump_only=True, **MONEY)
    created_at = UtcDateTime(dump_only=True)


class CaseSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    subject = _text(300, required=True)
    description = _text(20000)
    account_id = _id()
    account_name = fields.String(dump_only=True, allow_none=True)
    contact_id = _id()
    status = Choice(CASE_STATUS)
    priority = fields.String(validate=validate.OneOf(CASE_PRIORITIES))
    owner_id = _id()
    owner_name = fields.String(dump_only=True, allow_none=True)
    resolution = fields.String(dump_only=True, allow_none=True)
    resolved_at = UtcDateTime(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)


class ResolveCaseSchema(ma.Schema):
    resolution = _text(5000, required=True)


class CampaignSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    name = _text(200, required=True)
    channel = Choice(CHANNEL, allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    cost = _money(load_default=None)
    currency = fields.String(validate=validate.OneOf(CURRENCIES))


class TeamSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    name = _text(120, required=True)
    manager_id = _id()
    manager_name = fields.String(dump_only=True, allow_none=True)
    member_ids = fields.List(fields.Integer(), load_default=None)


class AutomationRuleSchema(_NotBlank):
    id = fields.Integer(dump_only=True)
    name = _text(120, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("stale_deal", "assign_lead")))
    days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=365))
    match_field = fields.String(allow_none=True, validate=validate.OneOf(("territory", "industry", "source")))
    match_value = _text(100)
    assignee_ids = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\s*\d+(\s*,\s*\d+)*\s*$", error="Comma-separated user ids, like 3,7."))
    position = fields.Integer(load_default=0)
    active = fields.Boolean()


class NotificationSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    message = fields.String()
    url = fields.String(allow_none=True)
    created_at = UtcDateTime()
    read_at = UtcDateTime(allow_none=True)


class MergeSchema(ma.Schema):
    other_id = fields.Integer(required=True, metadata={"description": "The record merged in and deleted"})


class ImportSchema(ma.Schema):
    csv = fields.String(required=True, metadata={"description": "The CSV text, header row first"})
    mapping = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                          metadata={"description": "CSV header -> field name"})
    all_or_nothing = fields.Boolean(load_default=True)


class ImportReportSchema(ma.Schema):
    total = fields.Integer()
    created = fields.Integer()
    ok = fields.Boolean()
    unknown_columns = fields.List(fields.String())
    errors = fields.List(fields.Dict())


class AutomationResultSchema(ma.Schema):
    tasks_created = fields.Integer()
    leads_assigned = fields.Integer()
