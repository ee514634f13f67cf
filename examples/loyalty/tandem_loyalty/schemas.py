"""Shapes of loyalty points in the API."""
import marshmallow as ma
from marshmallow import fields, validate

from core.api import ListArgs


class PointsEntrySchema(ma.Schema):
    """One movement: points earned by a paid invoice or taken back by a credit note."""

    id = fields.Integer()
    reason = fields.String(metadata={"description": "earned | taken back"})
    document = fields.String(metadata={"description": "The invoice or credit note number"})
    invoice_id = fields.Integer(metadata={"description": "The finance invoice that earned the points"})
    amount = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    points = fields.Integer()
    created_at = fields.DateTime()


class AccountPointsSchema(ma.Schema):
    """An account's points: one point per whole currency unit of its paid invoices."""

    account_id = fields.Integer()
    account_name = fields.String()
    points = fields.Integer()
    invoices = fields.Integer(metadata={"description": "Paid invoices that earned points"})


class AccountPointsDetailSchema(AccountPointsSchema):
    entries = fields.List(fields.Nested(PointsEntrySchema),
                          metadata={"description": "The latest movements, newest first"})


class BalanceListArgs(ListArgs):
    sort = fields.String(load_default=None, metadata={
        "description": "points, account_name, account_id or invoices; a leading '-' sorts "
                       "descending (default -points,account_name)"})
    min_points = fields.Integer(load_default=None, validate=validate.Range(min=0))
