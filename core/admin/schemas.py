"""Shapes of modules and events in the API."""
import marshmallow as ma
from marshmallow import fields


class ModuleSchema(ma.Schema):
    name = fields.String()
    version = fields.String()
    summary = fields.String()
    depends = fields.List(fields.String())
    optional = fields.List(fields.String())
    state = fields.String(metadata={"description": "installed, to upgrade, not installed, "
                                                   "uninstalled (data kept) or broken"})
    source = fields.String()
    category = fields.String()
    essential = fields.Boolean()
    error = fields.String(allow_none=True)
    db_version = fields.String(allow_none=True)
    dependents = fields.List(fields.String())


class UninstallSchema(ma.Schema):
    purge = fields.Boolean(load_default=False, metadata={
        "description": "Drop the module's tables: its data is lost for good"})


class InstallResultSchema(ma.Schema):
    installed = fields.List(fields.String())


class AuditEntrySchema(ma.Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String(metadata={"description": "create, update or delete"})
    table_name = fields.String()
    record_id = fields.String()
    changes = fields.Dict(metadata={"description": "field -> [old, new]"})


class EventSchema(ma.Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    payload = fields.Dict()
    actor_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
