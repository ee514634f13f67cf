"""Pages and API endpoints for a plain business record, declared once.

Most records (accounts, customers, products...) need the same five things: a list with
search, filters, sorting and pagination; a detail page with other plugins' panels; a
create form and an edit form validated by the record's schema; and the matching JSON
endpoints. A plugin declares a ``RecordType`` and calls ``add_record_pages`` and
``add_record_api``; anything special (actions, custom pages) it writes beside them.

Writes always go through the plugin's service functions (``create``/``update``).
"""
from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any, Callable

import marshmallow as ma
import sqlalchemy as sa
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from core import customfields, options
from core.api import ApiBlueprint, ListArgs, UtcDateTime, apply_sort, page_schema, paginate
from core.csvio import ImportRejected, ImportReport, attr_columns, csv_response, import_csv
from core.db import db
from core.errors import NotFound, TandemError, ValidationFailed
from core.forms import load_form
from core.permissions import requires

CHOICES_SHOWN = 50  # options a relation's select lists before the user searches


@dataclass(frozen=True)
class FormField:
    """One input of a record's form: ``kind`` is a ``field`` macro type."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    options: Callable[[], list[tuple[str, str]]] | None = None
    help: str = ""
    # the key of the record type the field links to ("crm.account"): a select of its first
    # records that the page's script lets the user search (see RecordType.choices)
    relation: str | None = None
    # the label of a value the record holds that options() no longer offers (an owner who
    # left: "Bob (inactive)"); without it the value names itself
    held_label: Callable[[str], str | None] | None = None
    # the option list (core.options) the field takes a value of: a select of its active
    # options, showing the one the record holds even once deactivated
    option_list: options.OptionList | None = None

    def __post_init__(self):
        if self.relation:
            object.__setattr__(self, "kind", "select")
        if self.option_list:
            object.__setattr__(self, "kind", "select")
            object.__setattr__(self, "options", self.option_list.offered)
            object.__setattr__(self, "held_label", self.option_list.held_label)

    def choices(self, chosen=None) -> list[tuple[str, str]] | None:
        """The select's options: a relation's first records, else ``options()``; with the
        value(s) the record holds (``chosen``) always among them, so saving keeps them."""
        if self.relation:
            return record_type(self.relation).choices(chosen=chosen)
        if not self.options:
            return None
        options = [(o, o) if isinstance(o, str) else o for o in self.options()]
        offered = {str(value) for value, _ in options}
        for value in (str(v) for v in _held_values(chosen) if str(v) not in offered):
            options.append((value, (self.held_label(value) if self.held_label else None) or value))
        return options

    @property
    def choices_url(self) -> str | None:
        """Where the page's script asks for more of a relation's records as the user types."""
        return record_type(self.relation).choices_url() if self.relation else None


@dataclass(frozen=True)
class Column:
    """One column of a record's list page."""

    attr: str
    label: str
    sort: str | None = None  # key of RecordType.sortable
    badge: bool = False
    link: bool = False  # links to the detail page


@dataclass(frozen=True)
class RecordType:
    """Everything the generic pages and endpoints need to know about one record type."""

    plugin: str  # the plugin's prefix: permissions are ``<plugin>.<name>.read``
    blueprint: str  # the plugin's page blueprint, for links to the detail page
    name: str  # singular, lower case: "account"
    plural: str  # URL segment and title: "accounts"
    model: type
    schema: type[ma.Schema]
    create: Callable[[dict], Any]
    update: Callable[[Any, dict], Any]
    columns: tuple[Column, ...]
    form: tuple[FormField, ...]
    search: tuple[Any, ...] = ()  # columns matched by ?q=
    sortable: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)  # ?name=value equality filters
    default_sort: str = "-id"
    title_attr: str = "name"
    detail_fields: tuple[tuple[str, str], ...] = ()
    scope: Callable[[Any], Any] | None = None  # narrows every query (record rules)
    duplicates: Callable[[dict], list] | None = None  # likely duplicates of new data, shown on create
    # eager loading (selectinload options) of what its pages and schema show; a function,
    # so that building the options, which configures every mapper, waits for the first query
    load: Callable[[], tuple[Any, ...]] = tuple
    choice_label: tuple[str, ...] = ()  # columns naming a record in a select; default: the title
    choosable: Any = None  # a WHERE clause for the records a select offers (the active ones)
    # why a record cannot be edited as it stands (a sent quote, a done document), or None;
    # the plugin's update service refuses with the same function, the pages hide the form
    locked: Callable[[Any], str | None] | None = None

    def __post_init__(self):
        for attr in self.choice_label or (self.title_attr,):
            if not isinstance(getattr(self.model, attr, None), sa.orm.QueryableAttribute):
                raise TypeError(f"{self.key}: {attr!r} is no column of {self.model.__name__}; "
                                "name the columns a select shows with choice_label")

    @property
    def pk(self):
        """The primary key column."""
        return sa.inspect(self.model).primary_key[0]

    @property
    def label_columns(self) -> list:
        """The columns naming a record in a select: ``choice_label``, else the title."""
        return [getattr(self.model, a) for a in self.choice_label or (self.title_attr,)]

    @property
    def key(self) -> str:
        """The record type's name for custom fields and the like: ``crm.account``."""
        return f"{self.plugin}.{self.name}"

    @property
    def read_permission(self) -> str:
        return f"{self.plugin}.{self.name}.read"

    @property
    def write_permission(self) -> str:
        return f"{self.plugin}.{self.name}.write"

    @property
    def words(self) -> str:
        """The plural in words, for titles and messages: ``payment-terms`` -> ``payment terms``."""
        return self.plural.replace("-", " ").replace("_", " ")

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @cached_property
    def option_fields(self) -> dict[str, options.OptionList]:
        """The schema's fields holding an option list's values, by attribute."""
        found = {name: options.option_list_of(f) for name, f in self.schema().fields.items()}
        return {name: lst for name, lst in found.items() if lst is not None}

    def shown(self, record, attr: str):
        """What a page shows for ``record.attr``: an option's label rather than its slug."""
        value = getattr(record, attr)
        return self.option_fields[attr].label_of(value) if attr in self.option_fields else value

    def csv_rows(self, records) -> tuple[list, Any]:
        """CSV columns and rows of ``records`` as the API shows them, custom fields last
        (``custom.<name>``); records must carry their custom values (``_with_custom``)."""
        schema = self.schema()
        names = [n for n, f in schema.fields.items() if not f.load_only]
        custom = [f.name for f in customfields.fields_for(self.key)]

        def row(record):
            values = getattr(record, "tandem_custom", {}) or {}
            return {**schema.dump(record), **{customfields.PREFIX + n: values.get(n) for n in custom}}

        return attr_columns(*names, *(customfields.PREFIX + n for n in custom)), map(row, records)

    @property
    def field_pairs(self) -> tuple[tuple[str, str], ...]:
        """(attribute, label) shown on the detail page."""
        return self.detail_fields or tuple((c.attr, c.label) for c in self.columns)

    def query(self):
        stmt = sa.select(self.model).options(*self.load())
        return self.scope(stmt) if self.scope else stmt

    def get(self, record_id: int):
        """The record by id, within the user's scope, or ``NotFound``."""
        record = db.session.scalar(self.query().where(self.pk == record_id))
        if record is None:
            raise NotFound(f"{self.label} {record_id} not found")
        return record

    def filter_columns(self) -> dict[str, Any]:
        """Every stored column can filter a list (``?industry=Retail``), plus the declared ones."""
        columns = {c.key: c for c in sa.inspect(self.model).columns if c.key not in ListArgs._declared_fields}
        return {**columns, **self.filters}

    def matching(self, stmt, text: str | None):
        """``stmt`` narrowed to records whose search columns contain ``text`` (if any)."""
        if not text or not text.strip() or not self.search:
            return stmt
        like = f"%{text.strip()}%"
        return stmt.where(sa.or_(*(col.ilike(like) for col in self.search)))

    def filtered(self, args: dict):
        """The user's records matching ``q``, the equality filters and ``updated_since``."""
        stmt = self.matching(self.query(), args.get("q"))
        for name, column in self.filter_columns().items():
            if args.get(name) not in (None, ""):
                stmt = stmt.where(column == args[name])
        if args.get("updated_since") is not None and hasattr(self.model, "updated_at"):
            stmt = stmt.where(self.model.updated_at >= args["updated_since"])
        return stmt

    def choices(self, text: str = "", chosen=None, limit: int = CHOICES_SHOWN) -> list[tuple[str, str]]:
        """(id, label) options of a select that links to this record type.

        The first ``limit`` records the user may read, by label, whose search columns
        contain ``text``; then ``chosen`` (the id the form holds, or the ids of a table's
        lines) where those did not reach it, so that saving a form never drops a link its
        select could not list. A user without the read permission gets ``chosen`` only.
        """
        pk, label_columns = self.pk, self.label_columns
        stmt = sa.select(pk, *label_columns)
        stmt = self.scope(stmt) if self.scope else stmt
        pairs = []
        if self.may_read():
            found = self.matching(stmt, text)
            found = found if self.choosable is None else found.where(self.choosable)
            found = found.order_by(*label_columns, pk).limit(limit)
            pairs = [_choice(row) for row in db.session.execute(found)]
        listed = {int(value) for value, _ in pairs}
        missing = {record_id_of(v) for v in _held_values(chosen)} - listed - {None}
        if missing:
            pairs += [_choice(row) for row in db.session.execute(stmt.where(pk.in_(missing)).order_by(pk))]
        return pairs

    def ids_named(self, name: str, limit: int = 2) -> list[int]:
        """Ids of the records whose label (its first column) is ``name``, in any case."""
        stmt = sa.select(self.pk).where(sa.func.lower(self.label_columns[0]) == name.strip().lower())
        stmt = self.scope(stmt) if self.scope else stmt
        return list(db.session.scalars(stmt.order_by(self.pk).limit(limit)))

    def choices_url(self) -> str | None:
        """The page answering ``?q=`` with this record type's choices as JSON (None for a
        user who may not read them)."""
        return url_for(f"{self.blueprint}.{self.name}_choices") if self.may_read() else None

    def lock_reason(self, record) -> str | None:
        """Why ``record`` cannot be edited now, or None."""
        return self.locked(record) if self.locked else None

    def may_read(self) -> bool:
        """Whether the current user holds this record type's read permission."""
        from flask_login import current_user

        return current_user.is_authenticated and current_user.can(self.read_permission)

    def list_args_schema(self) -> type[ma.Schema]:
        """Query arguments of the list: paging, sorting, ``q``, a filter per stored field
        (typed like its column) and ``updated_since`` for incremental sync."""
        extra = {name: _arg_field(column, name, self.option_fields.get(name))
                 for name, column in self.filter_columns().items()}
        if hasattr(self.model, "updated_at"):
            extra["updated_since"] = UtcDateTime(metadata={
                "description": "Only records changed at or after this time (UTC, ISO 8601)"})
        return type(f"{self.model.__name__}ListArgs", (ListArgs,), extra)


def _held_values(chosen) -> list:
    """The value(s) a form holds: one for a select, several for a multiselect or a table's lines."""
    values = chosen if isinstance(chosen, (list, tuple, set)) else [chosen]
    return [v for v in values if v not in (None, "")]


def _choice(row) -> tuple[str, str]:
    return str(row[0]), " ".join(str(v) for v in row[1:] if v not in (None, ""))


def record_id_of(value) -> int | None:
    """A form's value as a record id, or None when it cannot be one (the form shows that error)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None  # ids are 32-bit integers in PostgreSQL


def held_record_label(model, label: Callable[[Any], str], note: str = "inactive") -> Callable[[str], str | None]:
    """A ``FormField.held_label`` for a select of ``model`` records: the held record's label
    and why it is not offered any more ("Bob (inactive)")."""
    def held(value: str) -> str | None:
        record_id = record_id_of(value)
        record = db.session.get(model, record_id) if record_id else None
        return f"{label(record)} ({note})" if record is not None else None

    return held


def record_type(key: str) -> RecordType:
    """The record type given pages under ``key`` (``crm.account``)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise LookupError(f"no record type {key!r} has pages") from None


def _arg_field(column, name: str, option_list: options.OptionList | None = None) -> ma.fields.Field:
    """A query argument typed like the column it filters (a slug of its option list, an
    inactive one too, for a field holding one)."""
    description = {"metadata": {"description": f"Only records whose {name} equals this"}}
    if option_list is not None:
        return options.Choice(option_list, offered_only=False, **description)
    try:
        python_type = column.type.python_type
    except (NotImplementedError, AttributeError):
        python_type = str
    kinds = {bool: ma.fields.Boolean, int: ma.fields.Integer, dt.date: ma.fields.Date,
             dt.datetime: UtcDateTime, decimal.Decimal: ma.fields.Decimal}
    if python_type is decimal.Decimal:
        return ma.fields.Decimal(as_string=True, **description)
    return kinds.get(python_type, ma.fields.String)(**description)


def ensure_unique(column, value, exclude_id: int | None, field: str, message: str) -> None:
    """Refuse (422 on ``field``) a value another record of the table already has.

    ``message`` may use ``{id}`` for the other record's id.
    """
    if value in (None, ""):
        return
    pk = column.table.primary_key.columns.values()[0]
    clash = db.session.scalar(sa.select(pk).where(column == value, pk != (exclude_id or -1)))
    if clash:
        raise ValidationFailed({field: [message.format(id=clash)]})


def search_records(rt: RecordType, query: str, limit: int, kind: str,
                   detail: Callable[[Any], str] = lambda record: "") -> list:
    """Global-search hits among ``rt`` records the current user may read."""
    from core.contrib import SearchResult

    if not rt.may_read():
        return []
    stmt = rt.filtered({"q": query}).order_by(*(c for c in rt.search[:1])).limit(limit)
    return [SearchResult(kind, str(getattr(r, rt.title_attr)),
                         url_for(f"{rt.blueprint}.{rt.name}_detail", record_id=_pk(r)), detail(r))
            for r in db.session.scalars(stmt)]


#: Every record type given pages, so suite-wide checks (escaping, CSV safety) cover all.
RECORD_TYPES: list[RecordType] = []
_BY_KEY: dict[str, RecordType] = {}

EXPORT_LIMIT = 100_000


def add_record_pages(bp: Blueprint, rt: RecordType, detail_template: str | None = None) -> None:
    """List, detail, new, edit and CSV export pages for ``rt`` on ``bp``.

    Endpoints are ``<name>_list``, ``<name>_detail``, ``<name>_new``, ``<name>_edit`` and
    ``<name>_export`` (the list's search and filters apply to the export too).
    """
    base = f"/{rt.plural}"
    args_schema = rt.list_args_schema()()
    RECORD_TYPES.append(rt)
    _BY_KEY[rt.key] = rt

    def list_args() -> tuple[dict, Any]:
        """The list's arguments from the query string, and its query (custom filters too)."""
        args = args_schema.load({k: v for k, v in request.args.items() if k in args_schema.fields})
        stmt = custom_filtered(rt, rt.filtered(args), customfields.split_prefixed(request.args))
        return args, stmt

    def list_view():
        error = None
        try:
            args, stmt = list_args()
            page = paginate(stmt, args, rt.sortable, rt.default_sort)
        except (ma.ValidationError, ValidationFailed) as exc:
            page = paginate(rt.query(), {"page": 1, "per_page": 50}, rt.sortable, rt.default_sort)
            error = getattr(exc, "errors", None) or exc.messages
        return render_template("core/record_list.html", rt=rt, page=page, rows=_list_rows(rt, page["items"]),
                               error=error, custom_fields=customfields.fields_for(rt.key))

    def choices_view():
        """The records a relation's select offers for what the user typed (``?q=``)."""
        text = request.args.get("q", "")[:200]
        return jsonify(choices=[{"value": value, "label": label} for value, label in rt.choices(text)])

    def detail_view(record_id):
        record = rt.get(record_id)
        values = customfields.values_for(rt.key, [record_id])[record_id]
        custom = [(f.label, values.get(f.name)) for f in customfields.fields_for(rt.key)]
        return render_template(detail_template or "core/record_detail.html", rt=rt, record=record,
                               custom=custom)

    def form_view(record_id=None):
        record = rt.get(record_id) if record_id is not None else None
        reason = rt.lock_reason(record) if record is not None else None
        if reason:
            flash(reason, "error")
            return redirect(url_for(f".{rt.name}_detail", record_id=_pk(record)))
        custom_fields = customfields.fields_for(rt.key)
        errors, values, status = {}, request.form if request.method == "POST" else _values_of(record, rt), 422
        if request.method == "POST":
            with options.editing(lambda: record):
                data, errors = load_form(rt.schema(partial=record is not None))
            custom = {}
            try:
                custom = customfields.validate(rt.key, _posted_custom(custom_fields), partial=False)
            except ValidationFailed as exc:
                errors = {**errors, **exc.errors}
            if not errors and record is None and rt.duplicates and "create_anyway" not in request.form:
                found = rt.duplicates(data)
                if found:  # show them; creating still possible by ticking "create anyway"
                    return render_template("core/record_form.html", rt=rt, record=None, values=values,
                                           errors={}, custom_fields=custom_fields,
                                           duplicates=found), 409
            if not errors:
                try:
                    record = rt.update(record, data) if record is not None else rt.create(data)
                    customfields.save(rt.key, _pk(record), custom)
                    flash(f"{rt.label} “{getattr(record, rt.title_attr)}” saved.", "success")
                    return redirect(url_for(f".{rt.name}_detail", record_id=_pk(record)))
                except ValidationFailed as exc:
                    errors = exc.errors
                except TandemError as exc:  # a business rule: shown on the form, what was typed kept
                    db.session.rollback()
                    errors, status = {"_schema": [exc.message]}, exc.status
        elif record is not None:
            current = customfields.values_for(rt.key, [_pk(record)])[_pk(record)]
            values = {**values, **{customfields.PREFIX + k: v for k, v in current.items()}}
        return render_template("core/record_form.html", rt=rt, record=record, values=values,
                               errors=errors, custom_fields=custom_fields), status if errors else 200

    def export_view():
        try:
            args, stmt = list_args()
        except (ma.ValidationError, ValidationFailed):
            args, stmt = {}, rt.query()
        stmt = apply_sort(stmt, args.get("sort"), rt.sortable, rt.default_sort)
        records = db.session.scalars(stmt.limit(EXPORT_LIMIT)).all()
        columns, rows = rt.csv_rows(_with_custom(rt, records))
        return csv_response(f"{rt.plural}.csv", columns, rows)

    def import_view():
        report, status = None, 200
        if request.method == "POST":
            upload = request.files.get("file")
            text = upload.read().decode("utf-8-sig", errors="replace") if upload and upload.filename \
                else request.form.get("text", "")
            try:
                report = import_records(rt, text, parse_mapping(request.form.get("mapping", "")),
                                        all_or_nothing="skip_bad_rows" not in request.form)
                flash(f"Imported {report.created} {rt.plural}"
                      + (f"; {len(report.errors)} bad rows skipped." if report.errors else "."), "success")
            except ImportRejected as exc:
                db.session.rollback()
                report, status = exc.report, 422
                flash(exc.message, "error")
        return render_template("core/record_import.html", rt=rt, report=report,
                               custom_fields=customfields.fields_for(rt.key)), status

    bp.add_url_rule(base, f"{rt.name}_list", requires(rt.read_permission)(list_view))
    bp.add_url_rule(f"{base}/choices", f"{rt.name}_choices", requires(rt.read_permission)(choices_view))
    bp.add_url_rule(f"{base}/import", f"{rt.name}_import", requires(rt.write_permission)(import_view),
                    methods=["GET", "POST"])
    bp.add_url_rule(f"{base}.csv", f"{rt.name}_export", requires(rt.read_permission)(export_view))
    bp.add_url_rule(f"{base}/<int:record_id>", f"{rt.name}_detail",
                    requires(rt.read_permission)(detail_view))
    bp.add_url_rule(f"{base}/new", f"{rt.name}_new", requires(rt.write_permission)(form_view),
                    methods=["GET", "POST"])
    bp.add_url_rule(f"{base}/<int:record_id>/edit", f"{rt.name}_edit",
                    requires(rt.write_permission)(form_view), methods=["GET", "POST"])


def _list_rows(rt: RecordType, records) -> list[tuple[str, list[tuple[Column, Any]]]]:
    """Each record's detail link and its (column, value) cells, for the list template.

    Read here rather than in the template: Jinja tries ``record[attr]`` before the
    attribute, an exception per cell, and builds each link through the URL map.
    """
    detail_prefix = url_for(f".{rt.name}_list") + "/"  # the detail route is "<list>/<id>"
    return [(detail_prefix + str(r.id), [(c, rt.shown(r, c.attr)) for c in rt.columns]) for r in records]


def import_records(rt: RecordType, text: str, mapping: dict[str, str] | None = None,
                   all_or_nothing: bool = True, progress=None) -> ImportReport:
    """Create ``rt`` records from CSV text through the plugin's service (see core.csvio).

    Columns are the API's field names (what the export writes), ``custom.<name>`` for
    custom fields; ``mapping`` renames other headers. A link to another record (a
    contact's ``account_id``) takes its id or its name. All-or-nothing unless told otherwise.
    """
    custom_columns = {customfields.PREFIX + f.name: _custom_column(f) for f in customfields.fields_for(rt.key)}
    base_fields = rt.schema().load_fields
    links = {f.name: _LinkColumn(record_type(f.relation), required=base_fields[f.name].required,
                                 allow_none=base_fields[f.name].allow_none)
             for f in rt.form if f.relation and f.name in base_fields}
    schema = type(rt.schema.__name__ + "Import", (rt.schema,), {**links, **custom_columns})()

    def create(data: dict):
        # marshmallow loads the dotted "custom.<name>" columns as a nested "custom" dict
        custom = customfields.validate(rt.key, data.pop("custom", None), partial=False)
        record = rt.create(data)
        customfields.save(rt.key, _pk(record), custom)
        return record

    return import_csv(text, schema, create, mapping, all_or_nothing, progress)


class _LinkColumn(ma.fields.Field):
    """A CSV column linking to another record: its id, or its name (the label a select
    shows, SKU for products), matched in any case within what the importer may see."""

    def __init__(self, target: RecordType, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        if text.isdigit():
            number = record_id_of(text)
            if number is None:
                raise ma.ValidationError(f"{text} cannot be an id.")
            return number
        found = self.target.ids_named(text)
        if len(found) == 1:
            return found[0]
        what = self.target.label.lower()
        raise ma.ValidationError(f"No {what} is named “{text}”." if not found else
                                 f"More than one {what} is named “{text}”: give its id.")


def _custom_column(field) -> ma.fields.Field:
    """A CSV column for a custom field, checked in the same pass as the other columns."""
    def check(value):
        try:
            customfields.canonical(field, value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None

    return ma.fields.String(required=field.required, allow_none=not field.required, validate=check)


def parse_mapping(text: str) -> dict[str, str]:
    """``"Company=name, Web=domain"`` (or one per line) -> ``{"Company": "name", "Web": "domain"}``."""
    pairs = [p.split("=", 1) for p in text.replace("\n", ",").split(",") if "=" in p]
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}


def _posted_custom(custom_fields) -> dict:
    """Custom values posted by a form (an unchecked box sends nothing: it means false)."""
    posted = customfields.split_prefixed(request.form)
    for field in custom_fields:
        if field.kind == "boolean":
            posted[field.name] = "true" if customfields.PREFIX + field.name in request.form else "false"
    return posted


def _pk(record) -> int:
    return sa.inspect(record).identity[0]


def _values_of(record, rt: RecordType) -> dict:
    if record is None:
        return {}
    dumped = rt.schema().dump(record)
    return {k: ("" if v is None else v) for k, v in dumped.items()}


class ImportArgs(ma.Schema):
    all_or_nothing = ma.fields.Boolean(load_default=True, metadata={
        "description": "Refuse the whole file when a row is bad (default); false keeps good rows"})
    mapping = ma.fields.String(load_default=None, metadata={
        "description": "Header renames, e.g. 'Company=name,Web=domain'"})


class RecordImportReportSchema(ma.Schema):
    total = ma.fields.Integer()
    created = ma.fields.Integer()
    ok = ma.fields.Boolean()
    unknown_columns = ma.fields.List(ma.fields.String())
    errors = ma.fields.List(ma.fields.Dict(), metadata={"description": "{line, errors} per bad row"})


_API_SCHEMAS: dict[int, type[ma.Schema]] = {}


def api_schema(rt: RecordType) -> type[ma.Schema]:
    """The record's schema plus ``custom``: the values of the fields an admin added."""
    if id(rt) not in _API_SCHEMAS:
        custom = ma.fields.Dict(keys=ma.fields.String(), allow_none=True, attribute="tandem_custom",
                                data_key="custom", metadata={
                                    "description": "Custom fields added by an admin (name -> value)"})
        # its own name: the plain schema may be used by the plugin's other endpoints too
        name = rt.schema.__name__.removesuffix("Schema") + "RecordSchema"
        _API_SCHEMAS[id(rt)] = type(name, (rt.schema,), {"custom": custom})
    return _API_SCHEMAS[id(rt)]


def _with_custom(rt: RecordType, records: list) -> list:
    """Attach the custom values of ``records`` (one query) for the API to dump."""
    values = customfields.values_for(rt.key, [_pk(r) for r in records])
    for record in records:
        record.tandem_custom = values[_pk(record)]
    return records


def custom_filtered(rt: RecordType, stmt, filters: dict[str, str]):
    """Narrow ``stmt`` to records whose custom values equal ``filters``."""
    for ids in customfields.filter_ids(rt.key, filters):
        stmt = stmt.where(rt.pk.in_(ids))
    return stmt


def add_record_api(blp: ApiBlueprint, rt: RecordType) -> None:
    """``GET /<plural>``, ``POST /<plural>``, ``GET`` and ``PATCH /<plural>/<id>`` for ``rt``.

    Bodies carry the custom fields as ``custom``; lists filter by ``custom.<name>``.
    """
    base = f"/{rt.plural}"
    label = rt.label
    schema = api_schema(rt)
    args_schema = rt.list_args_schema()

    def list_records(args):
        extra = {k: v for k, v in args.items() if k not in args_schema._declared_fields}
        unknown = [k for k in extra if not k.startswith(customfields.PREFIX)]
        if unknown:
            raise ValidationFailed({k: ["Unknown field."] for k in unknown})
        stmt = custom_filtered(rt, rt.filtered(args), customfields.split_prefixed(extra))
        page = paginate(stmt, args, rt.sortable, rt.default_sort)
        _with_custom(rt, page["items"])
        return page

    def create_record(data):
        custom = customfields.validate(rt.key, data.pop("tandem_custom", None), partial=False)
        record = rt.create(data)
        customfields.save(rt.key, _pk(record), custom)
        return _with_custom(rt, [record])[0]

    def get_record(record_id):
        return _with_custom(rt, [rt.get(record_id)])[0]

    def update_record(data, record_id):
        record = rt.get(record_id)
        custom = customfields.validate(rt.key, data.pop("tandem_custom", None), partial=True)
        record = rt.update(record, data)
        customfields.save(rt.key, _pk(record), custom)
        return _with_custom(rt, [record])[0]

    list_records.__doc__ = f"{label} records: search with q, filter by any field, sort, paginate."
    create_record.__doc__ = f"Create a {rt.name.replace('_', ' ')}."
    get_record.__doc__ = f"One {rt.name.replace('_', ' ')} by id."
    update_record.__doc__ = f"Change some fields of a {rt.name.replace('_', ' ')}."

    def import_records_api(args):
        text = request.get_data(as_text=True)
        report = import_records(rt, text, parse_mapping(args.get("mapping") or ""),
                                all_or_nothing=args["all_or_nothing"])
        return report.to_dict()

    import_records_api.__doc__ = (f"Import {rt.plural} from a CSV body (text/csv): columns are the "
                                  "field names, custom.<name> for custom fields. All-or-nothing by "
                                  "default: a 422 lists every bad row and nothing is created.")
    blp.route(f"{base}/import", endpoint=f"{rt.name}_import", methods=["POST"])(
        requires(rt.write_permission)(blp.arguments(ImportArgs, location="query", unknown=ma.RAISE)(
            blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}})(
                blp.response(200, RecordImportReportSchema)(import_records_api)))))

    # unknown query arguments are checked in list_records: custom.<name> filters are dynamic
    blp.route(base, endpoint=f"{rt.name}_list", methods=["GET"])(
        requires(rt.read_permission)(blp.arguments(args_schema, location="query", unknown=ma.INCLUDE)(
            blp.response(200, page_schema(schema))(list_records))))
    blp.route(base, endpoint=f"{rt.name}_create", methods=["POST"])(
        requires(rt.write_permission)(blp.arguments(schema)(
            blp.response(201, schema)(create_record))))
    blp.route(f"{base}/<int:record_id>", endpoint=f"{rt.name}_get", methods=["GET"])(
        requires(rt.read_permission)(blp.response(200, schema)(get_record)))
    blp.route(f"{base}/<int:record_id>", endpoint=f"{rt.name}_update", methods=["PATCH"])(
        requires(rt.write_permission)(_editing_record(rt, blp.arguments(schema(partial=True))(
            blp.response(200, schema)(update_record)))))


def _editing_record(rt: RecordType, view):
    """``view`` with its body loaded for changing the record of the URL: an option the
    record holds stays valid once deactivated (``core.options.editing``)."""
    @wraps(view)
    def run(*args, record_id, **kwargs):
        with options.editing(lambda: rt.get(record_id)):
            return view(*args, record_id=record_id, **kwargs)

    return run
