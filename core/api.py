"""The JSON API: flask-smorest blueprints, one error format, and list helpers.

A plugin's ``api.py`` makes one ``ApiBlueprint("<plugin>", __name__)`` (mounted at
``/api/v1/<plugin>``) and keeps each endpoint to parse -> service -> dump:

    @blp.route("/deals")
    @requires("crm.deal.read")
    @blp.arguments(DealListArgs, location="query")
    @blp.response(200, page_schema(DealSchema))
    def list_deals(args):
        return paginate(sa.select(Deal), args, sortable={"title": Deal.title})

Errors (DESIGN.md section 7): 422 ``{"errors": {"field": ["message"]}}``; a business
rule refusal 409 ``{"code", "message"}``; 404, 403 and 401 as ``{"code", "message"}``.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import threading
from functools import cache, lru_cache

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, jsonify, request
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from core import options
from core.db import read_session
from core.errors import TandemError, ValidationFailed
from core.permissions import PUBLIC, permission_of

API_PREFIX = "/api/v1"


DECIMAL_AS_STRING = 'Give decimals as strings, e.g. "12.50" (a JSON number is not exact).'
TRUE_OR_FALSE = "Give true or false."


def _json_type_error(field: ma.fields.Field, value) -> str | None:
    """Why ``value`` does not have the JSON type the document gives ``field``, if so."""
    if isinstance(field, ma.fields.Decimal) and _is_number(value):
        return DECIMAL_AS_STRING
    if isinstance(field, ma.fields.Boolean) and value is not None and not isinstance(value, bool):
        return TRUE_OR_FALSE  # marshmallow would take 0, 1, "yes"...
    if isinstance(field, ma.fields.Dict) and isinstance(value, dict) and field.value_field is not None:
        return next((m for v in value.values() if (m := _json_type_error(field.value_field, v))), None)
    return None


def json_type_errors(schema: ma.Schema, data) -> dict:
    """Errors for the values of a JSON body whose JSON type is not the one the OpenAPI
    document states, nested lists and objects included: decimals travel as strings
    (a number is refused, never rounded), booleans as true or false."""
    if not isinstance(data, dict):
        return {}
    errors: dict = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        value = data.get(key)
        inner = field.inner if isinstance(field, ma.fields.List) else None
        if (message := _json_type_error(field, value)) is not None:
            errors[key] = [message]
        elif isinstance(field, ma.fields.Nested) and not field.many:
            found = json_type_errors(field.schema, value)
            errors.update({key: found} if found else {})
        elif isinstance(inner or field, ma.fields.Nested) and isinstance(value, list):
            nested = (inner or field).schema
            found = {i: e for i, item in enumerate(value) if (e := json_type_errors(nested, item))}
            errors.update({key: found} if found else {})
    return errors


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TandemParser(FlaskParser):
    """Request arguments read as the OpenAPI document describes them (see
    ``json_type_errors``): a JSON number in a decimal field or anything but true or false in
    a boolean one is a 422, never rounded or guessed."""

    def pre_load(self, location_data, *, schema, req, location):
        if location == "json":
            errors = json_type_errors(schema, location_data)
            if errors:
                raise ma.ValidationError(errors)
        return super().pre_load(location_data, schema=schema, req=req, location=location)


class ApiBlueprint(SmorestBlueprint):
    """The API blueprint of one plugin, mounted at ``/api/v1/<plugin>``."""

    ARGUMENTS_PARSER = TandemParser()

    def __init__(self, plugin: str, import_name: str, **kwargs):
        kwargs.setdefault("description", f"API of the {plugin} module")
        super().__init__(f"{plugin}_api", import_name, url_prefix=f"{API_PREFIX}/{plugin}",
                         **kwargs)
        self.plugin = plugin

    # flask-smorest deep-copies each endpoint's documentation, schema instances included,
    # once per decorator and once per method; that was a quarter of the start-up time.
    # The documentation only ever replaces a schema in its dicts, never changes one, so
    # the copies may share the schema instances.
    def arguments(self, schema, **kwargs):
        return super().arguments(_shared_in_copies(schema), **kwargs)

    # A response schema given as a class is instantiated once, whatever the number of
    # endpoints answering with it: dumping keeps no state in the schema.
    def response(self, status_code, schema=None, **kwargs):
        if isinstance(schema, type):
            schema = _response_schema(schema)
        return super().response(status_code, _shared_in_copies(schema), **kwargs)


def _shared_in_copies(schema):
    """The schema, marked so that ``copy.deepcopy`` leaves it shared (classes always are)."""
    if isinstance(schema, ma.Schema):
        schema.__deepcopy__ = lambda memo: schema
    return schema


@cache
def _response_schema(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


class UtcDateTime(ma.fields.DateTime):
    """A moment, stored as naive UTC (``core.db.utcnow``): written with its offset, as the
    OpenAPI ``date-time`` format (RFC 3339) requires; read from any offset (none means UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


class ErrorSchema(ma.Schema):
    """The body of every error answer (documentation only: see ``error_response``)."""

    code = ma.fields.String(metadata={"description": "Machine-readable reason, e.g. not_found"})
    message = ma.fields.String(metadata={"description": "What went wrong, in words"})
    errors = ma.fields.Dict(keys=ma.fields.String(), metadata={
        "description": "Field -> messages (422 only); nested fields nest"})
    details = ma.fields.Dict(metadata={"description": "More about a refusal, where there is more"})
    state = ma.fields.String(metadata={"description": "The state the record really is in (409 invalid_state)"})
    report = ma.fields.Dict(metadata={"description": "A refused CSV import: rows read, bad rows (422)"})


class ListArgs(ma.Schema):
    """Query arguments every list endpoint accepts; plugins subclass it to add filters.

    Declare it with ``unknown=ma.RAISE`` (``@blp.arguments(Args, location="query",
    unknown=ma.RAISE)``): a misspelt filter is a 422, never a silent "everything".
    """

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    sort = ma.fields.String(load_default=None, metadata={
        "description": "Comma-separated fields; a leading '-' sorts descending"})
    q = ma.fields.String(load_default=None, metadata={"description": "Text search"})


@lru_cache(maxsize=None)
def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of ``item_schema`` records: items, total, page, per_page."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "total": ma.fields.Integer(),
        "page": ma.fields.Integer(),
        "per_page": ma.fields.Integer(),
    })


def apply_sort(stmt, sort: str | None, sortable: dict, default: str):
    """Order ``stmt`` by a ``sort`` argument like ``-amount,title`` (only ``sortable`` keys)."""
    keys = [k.strip() for k in (sort or default).split(",") if k.strip()]
    bad = [k for k in keys if k.lstrip("-") not in sortable]
    if bad:
        raise ValidationFailed({"sort": [f"cannot sort by {', '.join(bad)}; "
                                         f"choose from {', '.join(sorted(sortable))}"]})
    for key in keys:
        column = sortable[key.lstrip("-")]
        stmt = stmt.order_by(column.desc() if key.startswith("-") else column.asc())
    return stmt


def count_rows(stmt, session=None) -> int:
    """How many rows ``stmt`` returns.

    A select without joins, grouping or DISTINCT is counted over its own FROM and WHERE
    (``SELECT count(*) FROM deals WHERE stage_id = 2`` reads an index only); wrapping it
    in a subquery made the database build every row it would have returned.
    """
    session = session or read_session()
    if stmt._setup_joins or stmt._group_by_clauses or stmt._distinct:
        return session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    return session.scalar(stmt.with_only_columns(sa.func.count(), maintain_column_froms=True)
                          .order_by(None))


def paginate(stmt, args: dict, sortable: dict, default_sort: str = "-id", session=None) -> dict:
    """One page of ``stmt`` (a ``select`` of one model) with the total row count.

    Counting and fetching are two SQL statements whatever the page size, on the read
    replica when one is configured (``read_session``).
    """
    session = session or read_session()
    total = count_rows(stmt, session)
    page, per_page = args.get("page", 1), args.get("per_page", 50)
    stmt = apply_sort(stmt, args.get("sort"), sortable, default_sort)
    items = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# --- errors ---


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _flatten(messages) -> dict:
    """webargs nests errors by location ({"json": {...}}); clients want {"field": [...]}."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    flat: dict = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            flat.update(errors)
        else:
            flat[location] = errors
    return flat


def error_response(status: int, code: str, message: str, **extra):
    body = {"code": code, "message": message, **extra}
    response = jsonify(body)
    response.status_code = status
    return response


def http_error_to_json(error: HTTPException):
    data = getattr(error, "data", None) or {}
    if error.code == 422 and "messages" in data:
        return error_response(422, "validation_failed", "Invalid input",
                              errors=_flatten(data["messages"]))
    message = data.get("message") or error.description or error.name
    code = error.name.lower().replace(" ", "_")
    response = error_response(error.code or 500, code, message)
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    return response


def tandem_error_to_json(error: TandemError):
    response = jsonify(error.to_dict())
    response.status_code = error.status
    return response


# --- the OpenAPI document of the installed plugins ---

_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _permissions_by_path(app: Flask) -> dict[tuple[str, str], str]:
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX):
            continue
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            permission = permission_of(app.view_functions.get(rule.endpoint), method)
            if permission:
                found[(path, method.lower())] = permission
    return found


def openapi_document(app: Flask, api: Api, installed: frozenset[str]) -> dict:
    """The OpenAPI 3 document, restricted to the API of the installed plugins.

    ``installed`` holds the installed plugins' prefixes (``Manifest.prefix``).

    Each operation states the permission it needs and its bearer-token security.
    """
    spec = copy.deepcopy(api.documented_spec().to_dict())  # never edit apispec's own dicts
    permissions = _permissions_by_path(app)
    paths = {}
    for path, operations in spec.get("paths", {}).items():
        plugin = path[len(API_PREFIX) + 1:].split("/", 1)[0]
        if plugin not in installed:
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            if method in ("post", "put", "patch", "delete"):
                operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})
            permission = permissions.get((path, method))
            if permission and permission != PUBLIC:
                operation["security"] = [{"bearerAuth": []}]
                operation["x-permission"] = permission
                note = f"Requires permission `{permission}`."
                operation["description"] = (operation.get("description", "") + "\n\n" + note).strip()
                operation.setdefault("responses", {}).update({
                    "401": {"description": "Not authenticated"},
                    "403": {"description": "Permission missing"},
                })
            elif permission == PUBLIC:
                operation["security"] = []
        paths[path] = operations
    spec["paths"] = paths
    _document_custom_fields(spec, installed)
    options.document_live(spec)
    _numeric_bounds(spec)
    used_tags = {tag for ops in paths.values() for op in ops.values()
                 if isinstance(op, dict) for tag in op.get("tags", [])}
    spec["tags"] = [t for t in spec.get("tags", []) if t["name"] in used_tags]
    spec.setdefault("components", {}).setdefault("parameters", {})["IdempotencyKey"] = {
        "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
        "description": "Makes a retry safe: a repeat with the same key and body returns the first response "
                       "and changes nothing; the same key with another body is a 409 idempotency_key_reused; "
                       "a repeat while the first still runs is a 409 idempotency_key_in_progress. Kept 24 h, per user."}
    spec["components"].setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http", "scheme": "bearer",
        "description": "An API token (create one on your profile page or with `tandem tokens create`)"}
    return spec


_COMPONENT_OWNERS: dict[str, type] = {}


def _schema_name(schema) -> str:
    """Component names: ``AccountSchema`` -> ``Account``; a partial one -> ``AccountPatch``.

    Two plugins may both have a ``SupplierSchema``: the second one to be documented is
    named after its plugin too (``InventorySupplier``), so names stay unique and stable.
    """
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    if _COMPONENT_OWNERS.setdefault(name, cls) is not cls:
        parts = cls.__module__.split(".")
        owner = parts[1] if parts[0] == "plugins" and len(parts) > 1 else parts[0]
        name = owner.removeprefix("erp_").title().replace("_", "") + name
        _COMPONENT_OWNERS.setdefault(name, cls)
    return name + "Patch" if getattr(schema, "partial", False) else name


class TandemApi(Api):
    """flask-smorest's Api, documenting blueprints when the document is first asked for.

    Building the documentation of every endpoint costs about 100 ms, which every worker
    would pay at start; most never serve the OpenAPI document.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args, **kwargs):
        self._undocumented: list = []
        self._doc_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def documented_spec(self):
        """The apispec ``APISpec`` with every registered blueprint documented."""
        with self._doc_lock:
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
                self.spec.tag({"name": name, "description": blp.description})
        return self.spec


def _numeric_bounds(node) -> None:
    """Decimal bounds of Range validators come out as strings; OpenAPI wants numbers."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("minimum", "maximum") and isinstance(value, str):
                number = float(value)
                node[key] = int(number) if number.is_integer() else number
            else:
                _numeric_bounds(value)
    elif isinstance(node, list):
        for item in node:
            _numeric_bounds(item)


_CUSTOM_KINDS = {"text": {"type": "string"}, "number": {"type": "string", "format": "decimal"},
                 "date": {"type": "string", "format": "date"}, "boolean": {"type": "boolean"}}


def _document_custom_fields(spec: dict, installed: frozenset[str]) -> None:
    """Describe the custom fields admins added: in each record's ``custom`` object, and as
    ``custom.<name>`` filters of its list (read at every request: no restart needed)."""
    from core import customfields
    from core.records import RECORD_TYPES

    schemas = spec.get("components", {}).get("schemas", {})
    for rt in {id(rt): rt for rt in RECORD_TYPES}.values():
        fields = customfields.fields_for(rt.key) if rt.plugin in installed else []
        if not fields:
            continue
        properties = {f.name: {**_CUSTOM_KINDS.get(f.kind, {"type": "string", "enum": f.choices}),
                               "description": f.label} for f in fields}
        from core.records import api_schema

        base = api_schema(rt).__name__.removesuffix("Schema")
        for name in (base, base + "Patch"):
            if name in schemas:
                custom = {"type": "object", "nullable": True, "properties": properties,
                          "additionalProperties": False}
                required = [f.name for f in fields if f.required and name == base]
                if required:
                    custom["required"] = required
                schemas[name].setdefault("properties", {})["custom"] = custom
        list_op = spec["paths"].get(f"{API_PREFIX}/{rt.plugin}/{rt.plural}", {}).get("get")
        if list_op is not None:
            list_op.setdefault("parameters", []).extend(
                {"name": f"custom.{f.name}", "in": "query", "required": False,
                 "description": f"Only records whose {f.label} equals this",
                 "schema": _CUSTOM_KINDS.get(f.kind, {"type": "string"})} for f in fields)


def init_api(app: Flask) -> Api:
    """Set up flask-smorest (spec generation only; the kernel serves the document)."""
    app.config.setdefault("API_TITLE", "Tandem")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config["OPENAPI_URL_PREFIX"] = None  # served by core.admin, filtered per install
    marshmallow_plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    api = TandemApi(app, spec_kwargs={"marshmallow_plugin": marshmallow_plugin,
                                "info": {"description": "JSON API of Tandem. Every endpoint "
                                                       "needs a bearer token unless marked public."}})
    marshmallow_plugin.converter.add_attribute_function(_decimal_as_string)
    marshmallow_plugin.converter.add_attribute_function(options.openapi_enum)
    app.extensions["tandem_api"] = api
    return api


def _decimal_as_string(self, field, **kwargs) -> dict:
    """Decimals travel as strings ("1250.00"): JSON numbers cannot hold cents exactly, and
    Flask writes every ``Decimal`` as a string whatever the field says."""
    if isinstance(field, ma.fields.Decimal):
        return {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    return {}
