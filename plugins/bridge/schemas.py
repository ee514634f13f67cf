"""Shapes of the bridge's links."""
import marshmallow as ma
from marshmallow import fields


class AccountLinkSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    account_id = fields.Integer(required=True)
    customer_id = fields.Integer(dump_only=True)
    matched_by = fields.String(dump_only=True)
    linked_at = fields.DateTime(dump_only=True)
