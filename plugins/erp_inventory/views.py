"""Inventory pages: records, document and purchase actions, reports, settings, import/export."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from core.csvio import ImportRejected, csv_response
from core.db import db
from core.errors import TandemError, ValidationFailed
from core.forms import load_form
from core.permissions import requires
from core.records import add_record_pages
from plugins.erp_inventory import reports, services, transfer
from plugins.erp_inventory.models import Location, Reservation, Warehouse
from plugins.erp_inventory.records import (DOCUMENT, LOCATION, PRODUCT, PURCHASE_ORDER, REORDER_RULE,
                                           SUPPLIER, SUPPLIER_PRICE, WAREHOUSE)
from plugins.erp_inventory.schemas import (DocumentLineSchema, PurchaseLineSchema, InventoryReportArgs,
                                           ReservationSchema, InventorySettingsSchema)

bp = Blueprint("erp_inventory", __name__, url_prefix="/inventory", template_folder="templates")
add_record_pages(bp, PRODUCT, "erp_inventory/product_detail.html")
add_record_pages(bp, DOCUMENT, "erp_inventory/document_detail.html")
add_record_pages(bp, PURCHASE_ORDER, "erp_inventory/purchase_order_detail.html")
for _rt in (WAREHOUSE, LOCATION, SUPPLIER, SUPPLIER_PRICE, REORDER_RULE):
    add_record_pages(bp, _rt)


def _message(exc: TandemError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                         for field, msgs in exc.errors.items())
    return exc.message


def _act(action, success: str, back: str):
    """Run a service action; flash the outcome. A refusal rolls back whatever it wrote."""
    try:
        action()
        flash(success, "success")
    except TandemError as exc:
        db.session.rollback()
        flash(_message(exc), "error")
    return redirect(back)


def _form(schema: ma.Schema) -> dict:
    data, errors = load_form(schema)
    if errors:
        raise ValidationFailed(errors)
    return data


# --- documents ---


@bp.route("/documents/<int:record_id>/lines", methods=["POST"])
@requires("inventory.document.write")
def document_add_line(record_id):
    document = DOCUMENT.get(record_id)
    return _act(lambda: services.add_line(document, _form(DocumentLineSchema())), "Line added.",
                url_for(".document_detail", record_id=record_id))


@bp.route("/documents/<int:record_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("inventory.document.write")
def document_remove_line(record_id, line_id):
    document = DOCUMENT.get(record_id)
    return _act(lambda: services.remove_line(document, line_id), "Line removed.",
                url_for(".document_detail", record_id=record_id))


def document_action(record_id, action):
    document = DOCUMENT.get(record_id)

    def run():
        if action == "confirm":
            services.confirm_document(document)
        elif action == "cancel":
            services.cancel_document(document)
        else:
            done = {line.id: request.form[f"done_{line.id}"] for line in document.lines
                    if request.form.get(f"done_{line.id}", "").strip()}
            try:
                services.validate_document(document, done)
            except ArithmeticError:
                raise ValidationFailed({"quantities": ["Quantities must be numbers."]})

    return _act(run, f"{document.number}: {action} done.", url_for(".document_detail", record_id=record_id))


def _action_routes(kind: str, view, permissions: dict[str, str]) -> None:
    """One POST route per action (``/<kind>/<id>/<action>``, endpoint ``<kind>_<action>``)."""
    for action, permission in permissions.items():
        def endpoint(record_id, _action=action):
            return view(record_id, _action)

        endpoint.__name__ = f"{kind}_{action}"
        bp.add_url_rule(f"/{kind}s/<int:record_id>/{action}", endpoint.__name__,
                        requires(permission)(endpoint), methods=["POST"])


_action_routes("document", document_action, {"confirm": "inventory.document.write",
                                             "validate": "inventory.document.validate",
                                             "cancel": "inventory.document.write"})


# --- purchase orders ---


@bp.route("/purchase_orders/<int:record_id>/lines", methods=["POST"])
@requires("inventory.purchase_order.write")
def purchase_order_add_line(record_id):
    order = PURCHASE_ORDER.get(record_id)
    return _act(lambda: services.add_purchase_line(order, _form(PurchaseLineSchema())), "Line added.",
                url_for(".purchase_order_detail", record_id=record_id))


def purchase_order_action(record_id, action):
    order = PURCHASE_ORDER.get(record_id)

    def run():
        if action == "confirm":
            services.confirm_purchase_order(order)
        elif action == "cancel":
            services.cancel_purchase_order(order)
        else:
            amounts = {line.id: request.form[f"receive_{line.id}"] for line in order.lines
                       if request.form.get(f"receive_{line.id}", "").strip()}
            try:
                services.receive_purchase_order(order, amounts or None)
            except ArithmeticError:
                raise ValidationFailed({"quantities": ["Quantities must be numbers."]})

    return _act(run, f"{order.number}: {action} done.", url_for(".purchase_order_detail", record_id=record_id))


_action_routes("purchase_order", purchase_order_action, {"confirm": "inventory.purchase_order.write",
                                                         "receive": "inventory.purchase_order.receive",
                                                         "cancel": "inventory.purchase_order.write"})


@bp.route("/replenish", methods=["POST"])
@requires("inventory.purchase_order.write")
def replenish():
    return _act(services.replenish, "Reorder rules checked; proposals are draft purchase orders.",
                url_for(".purchase_order_list", state="draft"))


# --- reservations ---


@bp.route("/reservations")
@requires("inventory.reservation.read")
def reservations():
    reference = request.args.get("q", "").strip()
    stmt = sa.select(Reservation).where(Reservation.state == "active").order_by(Reservation.id.desc())
    if reference:
        stmt = stmt.where(Reservation.reference.ilike(f"%{reference}%"))
    rows = db.session.scalars(stmt.limit(200)).all()
    return render_template("erp_inventory/reservations.html", rows=rows,
                           warehouses=[(str(i), code) for i, code in _warehouses()], errors={})


@bp.route("/reservations", methods=["POST"])
@requires("inventory.reservation.write")
def reserve():
    def run():
        data = _form(ReservationSchema())
        services.reserve_stock(data["reference"], data["product_id"], data["quantity"], data.get("warehouse_id"))

    return _act(run, "Stock reserved.", url_for(".reservations"))


@bp.route("/reservations/<int:reservation_id>/release", methods=["POST"])
@requires("inventory.reservation.write")
def release(reservation_id):
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None:
        flash("No such reservation.", "error")
        return redirect(url_for(".reservations"))
    return _act(lambda: services.release_reservation(reservation.reference, reservation.product_id,
                                                     None, reservation.warehouse_id),
                f"Reservation of {reservation.reference} released.", url_for(".reservations"))


def _warehouses():
    return db.session.execute(sa.select(Warehouse.id, Warehouse.code).order_by(Warehouse.code)).all()


# --- reports ---


def _report_view(report):
    def view():
        try:
            args = InventoryReportArgs().load({k: v for k, v in request.args.items() if k in InventoryReportArgs().fields})
        except ma.ValidationError as exc:
            args, error = InventoryReportArgs().load({}), exc.messages
        else:
            error = None
        if request.args.get("format") == "csv":
            result = reports.run_report(report, args, paginate=False)
            return csv_response(f"{report.name}.csv", [(label, _getter(key)) for key, label in report.columns],
                                result["rows"])
        result = reports.run_report(report, args)
        return render_template("erp_inventory/report.html", report=report, result=result, error=error,
                               warehouses=_warehouses(), all_reports=reports.REPORTS.values())

    view.__name__ = "report_" + report.name.replace("-", "_")
    bp.add_url_rule(f"/reports/{report.name}", view.__name__, requires("inventory.report.read")(view))
    return view


def _getter(key):
    return lambda row: row.get(key)


_REPORT_VIEWS = {name: _report_view(report) for name, report in reports.REPORTS.items()}


@bp.route("/stock")
@requires("inventory.report.read")
def stock():
    """The stock levels report: the inventory landing page."""
    return _REPORT_VIEWS["stock-levels"]()


# --- setup, settings, import and export ---


@bp.route("/setup")
@requires("inventory.warehouse.read")
def setup():
    counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
              for name, model in (("warehouses", Warehouse), ("locations", Location))}
    return render_template("erp_inventory/setup.html", counts=counts, settings=services.get_settings())


@bp.route("/settings", methods=["GET", "POST"])
@requires("inventory.settings.write")
def settings():
    current = services.get_settings()
    values, errors = {"allow_backorders": current.allow_backorders, "currency": current.currency}, {}
    if request.method == "POST":
        data, errors = load_form(InventorySettingsSchema())
        values = request.form
        if data is not None:
            services.update_settings(data)
            flash("Inventory settings saved.", "success")
            return redirect(url_for(".setup"))
    return render_template("erp_inventory/settings.html", values=values, errors=errors), 422 if errors else 200


@bp.route("/import", methods=["GET", "POST"])
@requires("inventory.product.write")
def import_page():
    report, kind = None, request.form.get("kind", "products")
    if request.method == "POST":
        upload = request.files.get("file")
        text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
        if not text.strip():
            flash("Choose a CSV file to import.", "error")
            return render_template("erp_inventory/import.html", report=None), 422
        run = transfer.import_products if kind == "products" else transfer.import_stock
        try:
            report = run(text)
            flash(f"Imported {report.created} of {report.total} rows.", "success")
        except ImportRejected as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("erp_inventory/import.html", report=exc.report), 422
        except TandemError as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            return render_template("erp_inventory/import.html", report=None), exc.status
    return render_template("erp_inventory/import.html", report=report)


@bp.route("/export/products.csv")
@requires("inventory.product.read")
def export_products():
    return transfer.products_download()


@bp.route("/export/stock.csv")
@requires("inventory.report.read")
def export_stock():
    return transfer.stock_download()




@bp.context_processor
def _helpers():
    return {"inventory_availability": services.availability,
            "product_options": PRODUCT.choices, "product_choices_url": PRODUCT.choices_url}
