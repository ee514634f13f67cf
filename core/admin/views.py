"""Home dashboard, global search, the Apps and events pages, and the API documents."""
import logging
from dataclasses import replace

import sqlalchemy as sa
import swagger_ui_bundle
from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, send_from_directory, url_for)
from flask_login import current_user

from core import lifecycle
from core.db import db
from core.errors import TandemError
from core.models import Event
from core.permissions import login_required, public, requires
from core.registry import current_registry

bp = Blueprint("admin", __name__, template_folder="templates")
log = logging.getLogger(__name__)


@bp.route("/")
@login_required
def home():
    """The dashboard: widgets from the installed plugins that the user may see."""
    widgets = [w for widgets in current_registry().hook.register_dashboard_widgets()
               for w in widgets if current_user.can(w.permission)]
    widgets.sort(key=lambda w: w.order)
    return render_template("admin/home.html", widgets=[_safe_widget(w) for w in widgets])


def _safe_widget(widget):
    """A widget whose data fails shows an error in its card instead of breaking the page."""
    try:
        context = widget.context()
    except Exception:
        log.exception("dashboard widget %s failed", widget.name)
        db.session.rollback()
        return replace(widget, template="admin/widget_failed.html", context=lambda: {})
    return replace(widget, context=lambda: context)


@bp.route("/search")
@login_required
def search():
    """Records matching the query, across the installed plugins."""
    q = request.args.get("q", "").strip()
    results = []
    if len(q) >= 2:
        results = [hit for hits in current_registry().hook.search(query=q, limit=10) for hit in hits]
    return render_template("admin/search.html", q=q, results=results)


@bp.route("/apps")
@requires("admin.module.read")
def apps():
    return render_template("admin/apps.html", modules=lifecycle.statuses())


@bp.route("/apps/<name>/install", methods=["POST"])
@requires("admin.module.write")
def install(name):
    try:
        done = lifecycle.install(name)
    except TandemError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.apps"))
    flash(f"Installed: {', '.join(done)}." if done else f"{name} was already installed.", "success")
    return redirect(url_for("admin.apps"))


@bp.route("/apps/upgrade", methods=["POST"])
@requires("admin.module.write")
def upgrade():
    """Migrate every installed module to the schema of its code (``tandem db upgrade``)."""
    changed = lifecycle.upgrade_all()
    flash(f"Upgraded: {', '.join(changed)}." if changed else "Every module is up to date.", "success")
    return redirect(url_for("admin.apps"))


@bp.route("/apps/<name>/uninstall", methods=["GET", "POST"])
@requires("admin.module.write")
def uninstall(name):
    """Ask for confirmation (and whether to purge), then uninstall."""
    status = next((s for s in lifecycle.statuses() if s.name == name), None)
    if status is None:
        flash(f"No module named {name}.", "error")
        return redirect(url_for("admin.apps"))
    if request.method == "POST":
        purge = request.form.get("purge") == "yes"
        if purge and request.form.get("confirm_name") != name:
            flash(f"To delete the data, type the module name “{name}”.", "error")
            return render_template("admin/uninstall.html", module=status), 422
        try:
            lifecycle.uninstall(name, purge=purge)
        except TandemError as exc:
            flash(exc.message, "error")
            return redirect(url_for("admin.apps"))
        flash(f"{name} uninstalled" + (" and its data deleted." if purge else "; its data is kept."),
              "success")
        return redirect(url_for("admin.apps"))
    return render_template("admin/uninstall.html", module=status)


@bp.route("/events")
@requires("admin.event.read")
def events():
    page = max(request.args.get("page", 1, type=int), 1)
    name = request.args.get("name", "")
    stmt = sa.select(Event).order_by(Event.id.desc())
    if name:
        stmt = stmt.where(Event.name == name)
    rows = db.session.scalars(stmt.limit(51).offset((page - 1) * 50)).all()
    names = db.session.scalars(sa.select(Event.name).distinct().order_by(Event.name)).all()
    return render_template("admin/events.html", events=rows[:50], has_next=len(rows) > 50,
                           page=page, name=name, names=names)


@bp.route("/webhooks", methods=["GET", "POST"])
@requires("admin.webhook.read")
def webhooks_page():
    """Subscriptions with their recent deliveries; the form subscribes a URL."""
    from core import webhooks

    known = sorted(webhooks.known_events(current_registry()))
    errors = {}
    if request.method == "POST":
        if not current_user.can("admin.webhook.write"):
            abort(403)
        try:
            sub = webhooks.subscribe(request.form.get("url", "").strip(), request.form.getlist("events"),
                                     set(known), request.form.get("description", ""))
            flash(f"Subscribed {sub.url}. Its signing secret: {sub.secret}", "success")
            return redirect(url_for("admin.webhooks_page"))
        except TandemError as exc:
            errors = getattr(exc, "errors", {"_schema": [exc.message]})
    subs = db.session.scalars(sa.select(webhooks.WebhookSubscription)
                              .order_by(webhooks.WebhookSubscription.id)).all()
    deliveries = db.session.scalars(sa.select(webhooks.WebhookDelivery)
                                    .order_by(webhooks.WebhookDelivery.id.desc()).limit(50)).all()
    return render_template("admin/webhooks.html", subs=subs, deliveries=deliveries,
                           event_options=[(name, name) for name in known], errors=errors,
                           values=request.form), 422 if errors else 200


@bp.route("/webhooks/<int:sub_id>/delete", methods=["POST"])
@requires("admin.webhook.write")
def delete_webhook(sub_id):
    from core import webhooks

    webhooks.unsubscribe(sub_id)
    flash("Subscription deleted.", "success")
    return redirect(url_for("admin.webhooks_page"))


@bp.route("/webhooks/deliveries/<int:delivery_id>/retry", methods=["POST"])
@requires("admin.webhook.write")
def retry_delivery(delivery_id):
    from core import webhooks

    webhooks.retry_now(delivery_id)
    flash("The delivery will be sent at the worker's next pass.", "success")
    return redirect(url_for("admin.webhooks_page"))


@bp.route("/admin/custom-fields", methods=["GET", "POST"])
@requires("admin.customfield.read")
def custom_fields():
    """Fields added to record types; the form adds one (no code, no restart)."""
    from core import customfields
    from core.admin.api import _record_type_keys

    keys = sorted(_record_type_keys())
    errors = {}
    if request.method == "POST":
        if not current_user.can("admin.customfield.write"):
            abort(403)
        try:
            field = customfields.define_field(
                request.form.get("record_type", ""), request.form.get("name", ""),
                request.form.get("label", ""), request.form.get("kind", ""),
                request.form.get("choices", "").split(","), "required" in request.form, set(keys))
            flash(f"Field “{field.label}” added to {field.record_type}.", "success")
            return redirect(url_for("admin.custom_fields"))
        except TandemError as exc:
            errors = getattr(exc, "errors", {"_schema": [exc.message]})
    rows = db.session.scalars(sa.select(customfields.CustomField).order_by(
        customfields.CustomField.record_type, customfields.CustomField.id)).all()
    return render_template("admin/custom_fields.html", rows=rows, errors=errors, values=request.form,
                           type_options=[(k, k) for k in keys],
                           kind_options=[(k, k) for k in customfields.KINDS]), 422 if errors else 200


@bp.route("/admin/custom-fields/<int:field_id>/delete", methods=["POST"])
@requires("admin.customfield.write")
def delete_custom_field(field_id):
    from core import customfields

    customfields.delete_field(field_id)
    flash("Custom field removed with its values.", "success")
    return redirect(url_for("admin.custom_fields"))


@bp.route("/admin/options")
@requires("admin.option.write")
def option_lists():
    """Settings -> Option lists: each list's options, to add, rename, reorder, deactivate."""
    from core import options

    return render_template("admin/option_lists.html", lists=options.installed_lists(),
                           errors={}, values={}, failed_key=None)


@bp.route("/admin/options/<key>", methods=["POST"])
@requires("admin.option.write")
def add_option(key):
    from core import options

    lst = options.get_list(key)
    try:
        row = options.add_option(lst, request.form.get("label", ""), request.form.get("slug", ""))
    except TandemError as exc:
        db.session.rollback()
        errors = getattr(exc, "errors", {"_schema": [exc.message]})
        return render_template("admin/option_lists.html", lists=options.installed_lists(), errors=errors,
                               values=request.form, failed_key=key), exc.status
    flash(f"Option “{row.label}” ({row.slug}) added to {lst.label}.", "success")
    return redirect(url_for("admin.option_lists") + f"#list-{key}")


@bp.route("/admin/options/<key>/<slug>", methods=["POST"])
@requires("admin.option.write")
def change_option(key, slug):
    """One change from the page: a new label, ``active`` on or off, or ``position``."""
    from core import options

    lst = options.get_list(key)
    form = request.form
    try:
        options.change_option(lst, slug, label=form.get("label"),
                              active=form["active"] == "true" if "active" in form else None,
                              position=form.get("position", type=int))
        flash(f"{lst.label}: {slug} changed.", "success")
    except TandemError as exc:
        db.session.rollback()
        messages = getattr(exc, "errors", None)
        flash(" ".join(m for ms in messages.values() for m in ms) if messages else exc.message, "error")
    return redirect(url_for("admin.option_lists") + f"#list-{key}")


@bp.route("/api/openapi.json")
@public
def openapi_json():
    """The OpenAPI 3 document of the installed plugins' API."""
    from core.api import openapi_document

    registry = current_registry()
    return jsonify(openapi_document(current_app, current_app.extensions["tandem_api"],
                                    registry.installed_prefixes))


@bp.route("/api/docs")
@public
def api_docs():
    """Browsable API documentation (Swagger UI, served from the app: works offline)."""
    return render_template("admin/api_docs.html")


@bp.route("/api/docs/assets/<path:filename>")
@public
def api_docs_assets(filename):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
