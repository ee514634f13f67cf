"""Shapes of modules and events in the API."""
import marshmallow as ma
from marshmallow import fields

from core.api import UtcDateTime


class ModuleSchema(ma.Schema):
    name = fields.String()
    version = fields.String()
    summary = fields.String()
    depends = fields.List(fields.String())
    optional = fields.List(fields.String())
    state = fields.String(metadata={"description": "installed, to upgrade, not installed, "
                                                   "uninstalled (data kept) or broken"})
    source = fields.String()
    category = fields.String()
    essential = fields.Boolean()
    error = fields.String(allow_none=True)
    db_version = fields.String(allow_none=True)
    dependents = fields.List(fields.String())


class UninstallSchema(ma.Schema):
    purge = fields.Boolean(load_default=False, metadata={
        "description": "Drop the module's tables: its data is lost for good"})


class InstallResultSchema(ma.Schema):
    installed = fields.List(fields.String())


class AuditEntrySchema(ma.Schema):
    id = fields.Integer()
    at = UtcDateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String(metadata={"description": "create, update or delete"})
    table_name = fields.String()
    record_id = fields.String()
    changes = fields.Dict(metadata={"description": "field -> [old, new]"})


class WebhookSubscriptionSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    url = fields.String(required=True, metadata={"description": "http(s) URL receiving POSTs"})
    events = fields.List(fields.String(), required=True,
                         metadata={"description": "Event hook names, e.g. on_invoice_paid"})
    description = fields.String(load_default="")
    active = fields.Boolean(dump_only=True)
    secret = fields.String(dump_only=True, metadata={
        "description": "HMAC-SHA256 key: X-Tandem-Signature = sha256=hex(hmac(secret, ts + '.' + body))"})
    created_at = UtcDateTime(dump_only=True)


class WebhookDeliverySchema(ma.Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    event_id = fields.Integer()
    status = fields.String(metadata={"description": "pending, sending, delivered or failed"})
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)


class CustomFieldSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    record_type = fields.String(required=True, metadata={"description": "e.g. crm.account"})
    name = fields.String(required=True, metadata={"description": "lower_case name used in the API"})
    label = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "text, number, date, choice or boolean"})
    choices = fields.List(fields.String(), load_default=list)
    required = fields.Boolean(load_default=False)


class EventSchema(ma.Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    payload = fields.Dict()
    actor_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()


class OptionSchema(ma.Schema):
    slug = fields.String(metadata={"description": "What the API sends and stores; never changes"})
    label = fields.String(metadata={"description": "What the pages show; an admin may rename it"})
    active = fields.Boolean(metadata={"description": "Inactive: kept by the records holding it, "
                                                     "refused as a new value"})
    position = fields.Integer()


class OptionListSchema(ma.Schema):
    key = fields.String(metadata={"description": "e.g. crm.source"})
    label = fields.String()
    editable = fields.Boolean(metadata={"description": "False for a fixed list (a record's states)"})
    options = fields.Method("_options", metadata={"description": "In the admin's order"})

    def _options(self, lst):
        return OptionSchema(many=True).dump(lst.options())


class NewOptionSchema(ma.Schema):
    label = fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    slug = fields.String(load_default=None, validate=ma.validate.Length(max=40), metadata={
        "description": "Lower-case words joined by '_'; made from the label when left out"})


class OptionChangeSchema(ma.Schema):
    label = fields.String(validate=ma.validate.Length(min=1, max=80))
    active = fields.Boolean()
    position = fields.Integer(validate=ma.validate.Range(min=0), metadata={
        "description": "Move the option to this place in the list (0 = first)"})
