"""Validation and output shape of finance records."""
import marshmallow as ma
from marshmallow import fields, validate

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD", "JPY")


class CustomerSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tax_id = fields.String(allow_none=True, validate=validate.Length(max=50))
    email = fields.Email(allow_none=True)
    billing_address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    currency = fields.String(load_default="EUR", validate=validate.OneOf(CURRENCIES))
    payment_terms_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=365))
    credit_limit = fields.Decimal(places=2, as_string=True, load_default="0.00",
                                  validate=validate.Range(min=0, max=10**15),
                                  metadata={"description": "Decimal string, e.g. \"5000.00\""})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
