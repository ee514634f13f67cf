"""``/api/v1/admin``: modules, the event log, the audit trail and webhooks."""
import marshmallow as ma
import sqlalchemy as sa

from core import customfields, lifecycle, options, webhooks
from core.admin.schemas import (AuditEntrySchema, CustomFieldSchema, EventSchema, InstallResultSchema, ModuleSchema,
                                NewOptionSchema, OptionChangeSchema, OptionListSchema, OptionSchema,
                                UninstallSchema, WebhookDeliverySchema, WebhookSubscriptionSchema)
from core.api import ApiBlueprint, ListArgs, page_schema, paginate
from core.audit import AuditEntry
from core.db import db
from core.errors import NotFound
from core.models import Event
from core.permissions import login_required, requires
from core.registry import current_registry

blp = ApiBlueprint("admin", __name__)


@blp.route("/modules")
@requires("admin.module.read")
@blp.response(200, ModuleSchema(many=True))
def list_modules():
    """Every discovered module with its state."""
    return lifecycle.statuses()


def _status(name):
    for status in lifecycle.statuses():
        if status.name == name:
            return status
    raise NotFound(f"no module named {name!r}")


@blp.route("/modules/upgrade", methods=["POST"])
@requires("admin.module.write")
@blp.response(200, InstallResultSchema)
def upgrade_modules():
    """Migrate every installed module to head; ``installed`` lists those that changed."""
    return {"installed": lifecycle.upgrade_all()}


@blp.route("/modules/<name>")
@requires("admin.module.read")
@blp.response(200, ModuleSchema)
def get_module(name):
    return _status(name)


@blp.route("/modules/<name>/install", methods=["POST"])
@requires("admin.module.write")
@blp.response(200, InstallResultSchema)
def install_module(name):
    """Install a module and its missing dependencies (and auto-install modules)."""
    return {"installed": lifecycle.install(name)}


@blp.route("/modules/<name>/uninstall", methods=["POST"])
@requires("admin.module.write")
@blp.arguments(UninstallSchema)
@blp.response(200, ModuleSchema)
def uninstall_module(data, name):
    """Uninstall a module; its data is kept unless ``purge`` is true."""
    lifecycle.uninstall(name, purge=data["purge"])
    return _status(name)


class AuditListArgs(ListArgs):
    table_name = ma.fields.String(metadata={"description": "Only changes to this table"})
    record_id = ma.fields.String(metadata={"description": "Only changes to this record"})
    actor_id = ma.fields.Integer(metadata={"description": "Only changes by this user"})
    action = ma.fields.String(validate=ma.validate.OneOf(["create", "update", "delete"]))


@blp.route("/audit")
@requires("admin.audit.read")
@blp.arguments(AuditListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(AuditEntrySchema))
def list_audit(args):
    """The audit trail: who created, changed or deleted which record, newest first."""
    stmt = sa.select(AuditEntry)
    for name in ("table_name", "record_id", "actor_id", "action"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(AuditEntry, name) == args[name])
    return paginate(stmt, args, {"id": AuditEntry.id, "at": AuditEntry.at})


@blp.route("/webhooks")
@requires("admin.webhook.read")
@blp.response(200, WebhookSubscriptionSchema(many=True))
def list_webhooks():
    """Webhook subscriptions."""
    return db.session.scalars(sa.select(webhooks.WebhookSubscription)
                              .order_by(webhooks.WebhookSubscription.id)).all()


@blp.route("/webhooks", methods=["POST"])
@requires("admin.webhook.write")
@blp.arguments(WebhookSubscriptionSchema)
@blp.response(201, WebhookSubscriptionSchema)
def create_webhook(data):
    """Subscribe a URL to events; the response holds the signing secret."""
    return webhooks.subscribe(data["url"], data["events"], webhooks.known_events(current_registry()),
                              data.get("description", ""))


@blp.route("/webhooks/<int:sub_id>", methods=["DELETE"])
@requires("admin.webhook.write")
@blp.response(204)
def delete_webhook(sub_id):
    """Delete a subscription and its delivery log."""
    webhooks.unsubscribe(sub_id)


@blp.route("/webhooks/<int:sub_id>/deliveries")
@requires("admin.webhook.read")
@blp.arguments(ListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(WebhookDeliverySchema))
def list_deliveries(args, sub_id):
    """Deliveries of one subscription, newest first."""
    webhooks.get_subscription(sub_id)
    stmt = sa.select(webhooks.WebhookDelivery).where(webhooks.WebhookDelivery.subscription_id == sub_id)
    return paginate(stmt, args, {"id": webhooks.WebhookDelivery.id}, "-id")


@blp.route("/custom-fields")
@requires("admin.customfield.read")
@blp.response(200, CustomFieldSchema(many=True))
def list_custom_fields():
    """Fields admins added to record types."""
    return db.session.scalars(sa.select(customfields.CustomField)
                              .order_by(customfields.CustomField.record_type, customfields.CustomField.id)).all()


@blp.route("/custom-fields", methods=["POST"])
@requires("admin.customfield.write")
@blp.arguments(CustomFieldSchema)
@blp.response(201, CustomFieldSchema)
def create_custom_field(data):
    """Add a field to a record type; it is in its forms, API and exports at once."""
    return customfields.define_field(data["record_type"], data["name"], data["label"], data["kind"],
                                     data.get("choices"), data.get("required", False),
                                     _record_type_keys())


@blp.route("/custom-fields/<int:field_id>", methods=["DELETE"])
@requires("admin.customfield.write")
@blp.response(204)
def delete_custom_field(field_id):
    """Remove a custom field and all its values."""
    customfields.delete_field(field_id)


@blp.route("/options")
@login_required
@blp.response(200, OptionListSchema(many=True))
def list_option_lists():
    """The option lists of the installed modules with their options: the slugs a field of
    each list accepts (the active ones for a new value)."""
    return options.installed_lists()


@blp.route("/options/<key>")
@login_required
@blp.response(200, OptionListSchema)
def get_option_list(key):
    """One option list (``crm.source``) with its options."""
    return options.get_list(key)


@blp.route("/options/<key>", methods=["POST"])
@requires("admin.option.write")
@blp.arguments(NewOptionSchema)
@blp.response(201, OptionSchema)
def add_option(data, key):
    """Add an option at the end of an editable list; its slug never changes afterwards."""
    return options.add_option(options.get_list(key), data["label"], data.get("slug"))


@blp.route("/options/<key>/<slug>", methods=["PATCH"])
@requires("admin.option.write")
@blp.arguments(OptionChangeSchema)
@blp.response(200, OptionSchema)
def change_option(data, key, slug):
    """Rename an option's label, deactivate (or reactivate) it, or move it in the list."""
    return options.change_option(options.get_list(key), slug, data.get("label"), data.get("active"),
                                 data.get("position"))


def _record_type_keys() -> set[str]:
    from core.records import RECORD_TYPES

    installed = current_registry().installed_prefixes
    return {rt.key for rt in RECORD_TYPES if rt.plugin in installed}


class EventListArgs(ListArgs):
    name = ma.fields.String(metadata={"description": "Only events of this hook"})


@blp.route("/events")
@requires("admin.event.read")
@blp.arguments(EventListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(EventSchema))
def list_events(args):
    """Recorded events, newest first."""
    stmt = sa.select(Event)
    if args.get("name"):
        stmt = stmt.where(Event.name == args["name"])
    if args.get("q"):
        stmt = stmt.where(Event.key.ilike(f"%{args['q']}%"))
    return paginate(stmt, args, {"id": Event.id, "name": Event.name, "created_at": Event.created_at})
