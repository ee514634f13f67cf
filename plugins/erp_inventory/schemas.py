"""Validation and output shape of inventory records."""
import marshmallow as ma
from marshmallow import fields, validate

from plugins.erp_inventory.models import PRODUCT_TYPES, UNITS


class ProductSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    sku = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Use letters, digits, '.', '_' or '-' (max 64)."))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=5000))
    category = fields.String(allow_none=True, validate=validate.Length(max=100))
    unit = fields.String(load_default="unit", validate=validate.OneOf(UNITS))
    type = fields.String(load_default="stockable", validate=validate.OneOf(PRODUCT_TYPES))
    sale_price = fields.Decimal(places=2, as_string=True, load_default="0.00",
                                validate=validate.Range(min=0, max=10**12))
    cost = fields.Decimal(places=2, as_string=True, load_default="0.00",
                          validate=validate.Range(min=0, max=10**12))
    barcode = fields.String(allow_none=True, validate=validate.Length(max=64))
    active = fields.Boolean(load_default=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
