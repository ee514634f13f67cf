"""Validation and output shape of CRM records (shared by the API and the forms)."""
import re

import marshmallow as ma
from marshmallow import fields, validate

from plugins.crm.models import INDUSTRIES, SIZES

DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9-]+\.)+[a-z]{2,}$")


class AccountSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    domain = fields.String(allow_none=True, validate=validate.Length(max=200))
    industry = fields.String(allow_none=True, validate=validate.OneOf(INDUSTRIES))
    size = fields.String(allow_none=True, validate=validate.OneOf(SIZES))
    address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    phone = fields.String(allow_none=True, validate=validate.Length(max=50))
    tags = fields.String(allow_none=True, validate=validate.Length(max=500))
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @ma.validates("domain")
    def _domain(self, value, **_kwargs):
        if value and not DOMAIN.match(value.strip().lower()):
            raise ma.ValidationError("Enter a domain like example.com.")

    @ma.validates("name")
    def _name(self, value, **_kwargs):
        if not value.strip():
            raise ma.ValidationError("Enter a name.")
