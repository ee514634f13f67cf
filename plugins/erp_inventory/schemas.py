"""Validation and output shape of inventory records."""
import marshmallow as ma
from marshmallow import fields, validate

from core.api import UtcDateTime

from plugins.erp_inventory.models import DOCUMENT_KINDS, PRODUCT_TYPES, UNITS


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
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


def _qty(**kw):
    return fields.Decimal(places=3, as_string=True, **kw)


def _money(**kw):
    return fields.Decimal(places=2, as_string=True, **kw)


CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="A three-letter currency code (EUR, USD...).")
POSITIVE = validate.Range(min=0, min_inclusive=False, max=10**12, error="Must be greater than 0.")
NOT_NEGATIVE = validate.Range(min=0, max=10**12, error="Must be 0 or more.")


class InventorySettingsSchema(ma.Schema):
    allow_backorders = fields.Boolean(metadata={"description": "Reserve beyond stock, recording the shortfall as a backorder"})
    currency = fields.String(validate=CURRENCY)


class WarehouseSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9]{1,10}$", error="1 to 10 letters or digits."))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(allow_none=True, validate=validate.Length(max=2000))
    allow_negative_stock = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)


class LocationSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.String(dump_only=True)
    warehouse_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Null for the virtual locations (suppliers, customers, adjustments)"})
    active = fields.Boolean(load_default=True)

    @ma.validates("warehouse_id")
    def _in_a_warehouse(self, value, **_kwargs):
        if value is None:
            raise ma.ValidationError("Choose the warehouse the location belongs to.")


class InventorySupplierSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=50))
    currency = fields.String(load_default="EUR", validate=CURRENCY)
    lead_time_days = fields.Integer(load_default=7, validate=validate.Range(min=0, max=365))
    active = fields.Boolean(load_default=True)


class SupplierPriceSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    supplier_id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    price = _money(required=True, validate=NOT_NEGATIVE)
    currency = fields.String(validate=CURRENCY)
    min_quantity = _qty(load_default="1", validate=NOT_NEGATIVE)
    lead_time_days = fields.Integer(validate=validate.Range(min=0, max=365))
    preferred = fields.Boolean(load_default=False)


class ReorderRuleSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(required=True)
    warehouse_id = fields.Integer(required=True)
    minimum = _qty(required=True, validate=NOT_NEGATIVE)
    maximum = _qty(required=True, validate=NOT_NEGATIVE)
    below = fields.Boolean(dump_only=True)


class DocumentLineSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(required=True)
    sku = fields.String(dump_only=True, attribute="product.sku")
    quantity = _qty(required=True, validate=NOT_NEGATIVE,
                    metadata={"description": "Asked for; on an adjustment, the counted quantity"})
    done_quantity = _qty(dump_only=True)
    unit_cost = fields.Decimal(places=4, as_string=True, allow_none=True, validate=NOT_NEGATIVE)


class DocumentSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    state = fields.String(dump_only=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=100))
    warehouse_id = fields.Integer(required=True)
    source_location_id = fields.Integer(allow_none=True)
    destination_location_id = fields.Integer(allow_none=True)
    scheduled_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    backorder_of_id = fields.Integer(dump_only=True, allow_none=True)
    purchase_order_id = fields.Integer(dump_only=True, allow_none=True)
    done_at = UtcDateTime(dump_only=True, allow_none=True)
    lines = fields.List(fields.Nested(DocumentLineSchema), load_default=list)


class ValidateSchema(ma.Schema):
    quantities = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^\d+$", error="A line id.")),
                             values=fields.Decimal(as_string=True, validate=NOT_NEGATIVE), load_default=None,
                             metadata={"description": "Line id -> quantity done (default: all)"})


class ReservationSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    product_id = fields.Integer(required=True)
    sku = fields.String(dump_only=True, attribute="product.sku")
    warehouse_id = fields.Integer(load_default=None)
    quantity = _qty(required=True, validate=POSITIVE)
    backorder_quantity = _qty(dump_only=True)
    state = fields.String(dump_only=True)


class ReleaseSchema(ma.Schema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    product_id = fields.Integer(load_default=None)
    warehouse_id = fields.Integer(load_default=None)
    quantity = _qty(load_default=None, validate=POSITIVE)


class DeliveryLineInSchema(ma.Schema):
    product_id = fields.Integer()
    sku = fields.String()
    quantity = _qty(required=True, validate=POSITIVE)

    @ma.validates_schema
    def _product_named(self, data, **_):
        if not data.get("product_id") and not data.get("sku"):
            raise ma.ValidationError("Give product_id or sku.", "product_id")


class DeliveryRequestSchema(ma.Schema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    warehouse_id = fields.Integer(load_default=None)
    lines = fields.List(fields.Nested(DeliveryLineInSchema), required=True, validate=validate.Length(min=1))


class DeliveryStatusSchema(ma.Schema):
    reference = fields.String()
    state = fields.String()
    ordered = _qty()
    delivered = _qty()
    documents = fields.List(fields.Dict())


class PurchaseLineSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(required=True)
    sku = fields.String(dump_only=True, attribute="product.sku")
    quantity = _qty(required=True, validate=POSITIVE)
    received_quantity = _qty(dump_only=True)
    unit_price = _money(load_default=None, validate=NOT_NEGATIVE)
    subtotal = _money(dump_only=True)


class PurchaseOrderSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    supplier_id = fields.Integer(required=True)
    warehouse_id = fields.Integer(required=True)
    state = fields.String(dump_only=True)
    currency = fields.String(dump_only=True)
    expected_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    total = _money(dump_only=True)
    lines = fields.List(fields.Nested(PurchaseLineSchema), load_default=list)


class WarehouseAvailabilitySchema(ma.Schema):
    warehouse_id = fields.Integer()
    warehouse_code = fields.String()
    on_hand = _qty()
    reserved = _qty()
    available = _qty()
    incoming = _qty()


class AvailabilitySchema(ma.Schema):
    product_id = fields.Integer()
    sku = fields.String()
    on_hand = _qty()
    reserved = _qty()
    available = _qty()
    incoming = _qty()
    warehouses = fields.List(fields.Nested(WarehouseAvailabilitySchema))


class InventoryReportArgs(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    q = fields.String(load_default=None)
    product_id = fields.Integer(load_default=None)
    warehouse_id = fields.Integer(load_default=None)


class InventoryReportSchema(ma.Schema):
    report = fields.String()
    title = fields.String()
    rows = fields.List(fields.Dict(), metadata={"description": "Decimals as strings"})
    total_rows = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    totals = fields.Dict(allow_none=True)


class InventoryImportSchema(ma.Schema):
    csv = fields.String(required=True, metadata={"description": "The CSV text, with a header row"})


class StockLineImportSchema(ma.Schema):
    """One row of an initial stock import: a product's quantity and unit cost in a warehouse."""

    sku = fields.String(required=True)
    warehouse = fields.String(required=True, metadata={"description": "Warehouse code"})
    quantity = _qty(required=True, validate=NOT_NEGATIVE)
    unit_cost = fields.Decimal(places=4, as_string=True, load_default=None, validate=NOT_NEGATIVE)


class StockProblemSchema(ma.Schema):
    """A stock document or purchase order whose moves disagree with its lines."""

    kind = fields.String(metadata={"description": "document_moves_exceed_lines, document_moves_differ_done, "
                                                  "moves_on_open_document, over_received or receipt_moves_differ"})
    message = fields.String()
    document_id = fields.Integer(allow_none=True)
    document = fields.String(allow_none=True, metadata={"description": "The document's number"})
    purchase_order_id = fields.Integer(allow_none=True)
    purchase_order = fields.String(allow_none=True, metadata={"description": "The purchase order's number"})
    product_id = fields.Integer()
    sku = fields.String()
    expected = _qty(metadata={"description": "What the lines allow or say"})
    found = _qty(metadata={"description": "What the lines or moves hold"})


class StockCheckSchema(ma.Schema):
    ok = fields.Boolean(metadata={"description": "True when both lists are empty"})
    mismatches = fields.List(fields.Dict(), metadata={"description": "Cached quantities that differ from their moves"})
    problems = fields.List(fields.Nested(StockProblemSchema))
