"""``/api/v1/admin``: modules (install, uninstall) and the event log."""
import marshmallow as ma
import sqlalchemy as sa

from core import lifecycle
from core.admin.schemas import AuditEntrySchema, EventSchema, InstallResultSchema, ModuleSchema, UninstallSchema
from core.audit import AuditEntry
from core.api import ApiBlueprint, ListArgs, page_schema, paginate
from core.errors import NotFound
from core.models import Event
from core.permissions import requires

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
