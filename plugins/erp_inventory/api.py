"""``/api/v1/inventory``: inventory records and operations as JSON (parse -> service -> dump)."""
import marshmallow as ma
import sqlalchemy as sa

from core.api import ApiBlueprint, ListArgs, page_schema, paginate
from core.errors import NotFound
from core.permissions import requires
from core.records import add_record_api
from plugins.erp_inventory import reports, services, transfer
from plugins.erp_inventory.models import Reservation
from plugins.erp_inventory.records import DOCUMENT, PURCHASE_ORDER, RECORD_TYPES
from plugins.erp_inventory.schemas import (AvailabilitySchema, StockCheckSchema, DeliveryRequestSchema,
                                           DeliveryStatusSchema, DocumentLineSchema, DocumentSchema,
                                           InventoryImportSchema, PurchaseLineSchema, PurchaseOrderSchema,
                                           ReleaseSchema, InventoryReportArgs, InventoryReportSchema, ReservationSchema,
                                           InventorySettingsSchema, ValidateSchema)

blp = ApiBlueprint("inventory", __name__)
for record_type in RECORD_TYPES:
    add_record_api(blp, record_type)


# --- documents ---


@blp.route("/documents/<int:record_id>/lines", methods=["POST"])
@requires("inventory.document.write")
@blp.arguments(DocumentLineSchema)
@blp.response(201, DocumentSchema)
def add_document_line(data, record_id):
    """Add a product line to a draft document."""
    document = DOCUMENT.get(record_id)
    services.add_line(document, data)
    return document


@blp.route("/documents/<int:record_id>/lines/<int:line_id>", methods=["DELETE"])
@requires("inventory.document.write")
@blp.response(200, DocumentSchema)
def remove_document_line(record_id, line_id):
    """Remove a line from a draft document."""
    document = DOCUMENT.get(record_id)
    services.remove_line(document, line_id)
    return document


@blp.route("/documents/<int:record_id>/confirm", methods=["POST"])
@requires("inventory.document.write")
@blp.response(200, DocumentSchema)
def confirm_document(record_id):
    """Make a draft ready (a delivery reserves its stock: 409 ``insufficient_stock`` if it cannot)."""
    return services.confirm_document(DOCUMENT.get(record_id))


@blp.route("/documents/<int:record_id>/validate", methods=["POST"])
@requires("inventory.document.validate")
@blp.arguments(ValidateSchema)
@blp.response(200, DocumentSchema)
def validate_document(data, record_id):
    """Write the moves; quantities below those asked for leave a backorder document."""
    return services.validate_document(DOCUMENT.get(record_id), data.get("quantities"))


@blp.route("/documents/<int:record_id>/cancel", methods=["POST"])
@requires("inventory.document.write")
@blp.response(200, DocumentSchema)
def cancel_document(record_id):
    """Cancel a draft or ready document (a delivery gives its reservation back)."""
    return services.cancel_document(DOCUMENT.get(record_id))


# --- purchase orders ---


@blp.route("/purchase_orders/<int:record_id>/lines", methods=["POST"])
@requires("inventory.purchase_order.write")
@blp.arguments(PurchaseLineSchema)
@blp.response(201, PurchaseOrderSchema)
def add_purchase_line(data, record_id):
    """Add a product to a draft purchase order (price defaults to the supplier's)."""
    order = PURCHASE_ORDER.get(record_id)
    services.add_purchase_line(order, data)
    return order


@blp.route("/purchase_orders/<int:record_id>/confirm", methods=["POST"])
@requires("inventory.purchase_order.write")
@blp.response(200, PurchaseOrderSchema)
def confirm_purchase_order(record_id):
    """Send a draft order to the supplier."""
    return services.confirm_purchase_order(PURCHASE_ORDER.get(record_id))


@blp.route("/purchase_orders/<int:record_id>/receive", methods=["POST"])
@requires("inventory.purchase_order.receive")
@blp.arguments(ValidateSchema)
@blp.response(200, DocumentSchema)
def receive_purchase_order(data, record_id):
    """Receive goods (default: all still expected); returns the validated receipt."""
    return services.receive_purchase_order(PURCHASE_ORDER.get(record_id), data.get("quantities"))


@blp.route("/purchase_orders/<int:record_id>/cancel", methods=["POST"])
@requires("inventory.purchase_order.write")
@blp.response(200, PurchaseOrderSchema)
def cancel_purchase_order(record_id):
    """Cancel an order of which nothing was received."""
    return services.cancel_purchase_order(PURCHASE_ORDER.get(record_id))


@blp.route("/replenish", methods=["POST"])
@requires("inventory.purchase_order.write")
@blp.response(200, PurchaseOrderSchema(many=True))
def replenish():
    """Check every reorder rule; returns the draft purchase orders proposed or extended."""
    return services.replenish()


# --- stock: availability, reservations, deliveries ---


@blp.route("/products/<int:record_id>/availability", methods=["GET"])
@requires("inventory.product.read")
@blp.arguments(ma.Schema.from_dict({"warehouse_id": ma.fields.Integer(load_default=None)})(),
               location="query", unknown=ma.RAISE)
@blp.response(200, AvailabilitySchema)
def availability(args, record_id):
    """On hand, reserved, available and incoming of a product, per warehouse and in total."""
    return services.availability(record_id, args.get("warehouse_id"))


class ReservationListArgs(ListArgs):
    reference = ma.fields.String()
    state = ma.fields.String()
    product_id = ma.fields.Integer()


@blp.route("/reservations", methods=["GET"])
@requires("inventory.reservation.read")
@blp.arguments(ReservationListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(ReservationSchema))
def list_reservations(args):
    """Reservations, newest first; filter by reference, state or product."""
    stmt = sa.select(Reservation)
    for key in ("reference", "state", "product_id"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(Reservation, key) == args[key])
    if args.get("q"):
        stmt = stmt.where(Reservation.reference.ilike(f"%{args['q']}%"))
    return paginate(stmt, args, {"id": Reservation.id, "reference": Reservation.reference}, "-id")


@blp.route("/reservations", methods=["POST"])
@requires("inventory.reservation.write")
@blp.arguments(ReservationSchema)
@blp.response(201, ReservationSchema)
def reserve(data):
    """Reserve stock for a reference: 409 ``insufficient_stock`` unless backorders are allowed."""
    return services.reserve_stock(data["reference"], data["product_id"], data["quantity"], data.get("warehouse_id"))


@blp.route("/reservations/release", methods=["POST"])
@requires("inventory.reservation.write")
@blp.arguments(ReleaseSchema)
@blp.response(200, ReservationSchema(many=True))
def release(data):
    """Give back what a reference holds (all, or a quantity of one product)."""
    return services.release_reservation(data["reference"], data.get("product_id"), data.get("quantity"),
                                        data.get("warehouse_id"))


@blp.route("/deliveries", methods=["POST"])
@requires("inventory.document.write")
@blp.arguments(DeliveryRequestSchema)
@blp.response(201, DocumentSchema)
def create_delivery(data):
    """Create and confirm a delivery for a reference (its stock is reserved)."""
    return services.create_delivery(data["reference"], data["lines"], data.get("warehouse_id"))


@blp.route("/deliveries/<path:reference>/status", methods=["GET"])
@requires("inventory.document.read")
@blp.response(200, DeliveryStatusSchema)
def delivery_status(reference):
    """Where the deliveries of a reference stand (404 when it has none)."""
    status = services.delivery_status(reference)
    if status is None:
        raise NotFound(f"No delivery for {reference}")
    return status


# --- settings, check, reports, import ---


@blp.route("/settings", methods=["GET"])
@requires("inventory.settings.read")
@blp.response(200, InventorySettingsSchema)
def get_settings():
    """The inventory settings."""
    return services.get_settings()


@blp.route("/settings", methods=["PATCH"])
@requires("inventory.settings.write")
@blp.arguments(InventorySettingsSchema)
@blp.response(200, InventorySettingsSchema)
def update_settings(data):
    """Change the inventory settings."""
    return services.update_settings(data)


@blp.route("/check", methods=["GET"])
@requires("inventory.stock.read")
@blp.response(200, StockCheckSchema)
def check():
    """Whether every cached quantity equals the sum of its moves (``mismatches``) and every
    document and purchase order moved what its lines say (``problems``)."""
    return services.stock_check()


def _report_endpoint(report):
    def endpoint(args):
        return reports.run_report(report, args)

    endpoint.__name__ = "report_" + report.name.replace("-", "_")
    endpoint.__doc__ = f"{report.title} (aggregated in SQL; page with page/per_page)."
    blp.route(f"/reports/{report.name}", endpoint=endpoint.__name__, methods=["GET"])(
        requires("inventory.report.read")(blp.arguments(InventoryReportArgs, location="query", unknown=ma.RAISE)(
            blp.response(200, InventoryReportSchema)(endpoint))))


for _report in reports.REPORTS.values():
    _report_endpoint(_report)


@blp.route("/import/products", methods=["POST"])
@requires("inventory.product.write")
@blp.arguments(InventoryImportSchema)
@blp.response(200, ma.Schema.from_dict({"total": ma.fields.Integer(), "created": ma.fields.Integer(),
                                        "ok": ma.fields.Boolean(), "errors": ma.fields.List(ma.fields.Dict()),
                                        "unknown_columns": ma.fields.List(ma.fields.String())},
                                       name="InventoryImportReport"))
def import_products(data):
    """Import products from CSV: all or nothing (422 with the report listing every bad row)."""
    return transfer.import_products(data["csv"]).to_dict()


@blp.route("/import/stock", methods=["POST"])
@requires("inventory.document.validate")
@blp.arguments(InventoryImportSchema)
@blp.response(200, ma.Schema.from_dict({"total": ma.fields.Integer(), "created": ma.fields.Integer(),
                                        "ok": ma.fields.Boolean(), "errors": ma.fields.List(ma.fields.Dict()),
                                        "unknown_columns": ma.fields.List(ma.fields.String())},
                                       name="StockImportReport"))
def import_stock(data):
    """Import initial stock levels (sku, warehouse, quantity, unit_cost): all or nothing."""
    return transfer.import_stock(data["csv"]).to_dict()
