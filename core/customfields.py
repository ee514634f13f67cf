"""Custom fields: an admin adds fields to any record type from the UI, no code, no restart.

A field belongs to a record type (``crm.account``) and has a kind: text, number, date,
choice or boolean. Values are stored per record as canonical text (a Decimal's string,
an ISO date, ``true``/``false``) so that filtering is an equality in SQL; they reach
the API as ``"custom": {"region": "North"}``, the forms as ``custom.<name>`` inputs,
the lists as ``?custom.<name>=`` filters and the CSV files as ``custom.<name>`` columns.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow
from core.errors import NotFound, ValidationFailed

KINDS = ("text", "number", "date", "choice", "boolean")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TRUE, FALSE = ("true", "1", "on", "yes"), ("false", "0", "off", "no", "")
PREFIX = "custom."


class CustomField(db.Model):
    """A field an admin added to a record type."""

    __tablename__ = "core_custom_field"
    __table_args__ = (sa.UniqueConstraint("record_type", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(sa.String(80), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(10))
    choices: Mapped[list] = mapped_column(sa.JSON, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomValue(db.Model):
    """The value of one custom field on one record."""

    __tablename__ = "core_custom_value"
    __table_args__ = (sa.UniqueConstraint("field_id", "record_id"),
                      sa.Index("ix_core_custom_value_lookup", "field_id", "value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("core_custom_field.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    value: Mapped[str] = mapped_column(sa.String(500))  # indexed: short enough for any btree


# --- definitions ---


def fields_for(record_type: str) -> list[CustomField]:
    """The custom fields of a record type, in the order they were added.

    Read once per request (a list page asks for them for its filters, its query and its
    template); defining or deleting a field forgets what was read.
    """
    cache = g.setdefault("tandem_custom_fields", {}) if has_app_context() else {}
    if record_type not in cache:
        cache[record_type] = db.session.scalars(
            sa.select(CustomField).where(CustomField.record_type == record_type)
            .order_by(CustomField.id)).all()
    return cache[record_type]


def _forget() -> None:
    if has_app_context():
        g.pop("tandem_custom_fields", None)


def define_field(record_type: str, name: str, label: str, kind: str, choices: list[str] | None,
                 required: bool, known_types: set[str]) -> CustomField:
    """Add a custom field to a record type (refused with field errors when invalid)."""
    name, label = (name or "").strip().lower(), (label or "").strip()
    choices = [c.strip() for c in (choices or []) if c and c.strip()]
    errors: dict[str, list[str]] = {}
    if record_type not in known_types:
        errors["record_type"] = [f"Unknown record type {record_type!r}."]
    if not NAME.match(name):
        errors["name"] = ["Use lower-case letters, digits and '_', starting with a letter."]
    elif db.session.scalar(sa.select(CustomField.id).where(
            CustomField.record_type == record_type, CustomField.name == name)):
        errors["name"] = ["This record type already has a field with this name."]
    if not label:
        errors["label"] = ["Enter a label."]
    if kind not in KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(KINDS)}."]
    elif kind == "choice" and not choices:
        errors["choices"] = ["A choice field needs at least one choice."]
    if errors:
        raise ValidationFailed(errors)
    field = CustomField(record_type=record_type, name=name, label=label, kind=kind,
                        choices=choices if kind == "choice" else [], required=bool(required))
    db.session.add(field)
    db.session.flush()
    _forget()
    return field


def delete_field(field_id: int) -> None:
    """Remove a custom field and every value of it."""
    field = db.session.get(CustomField, field_id)
    if field is None:
        raise NotFound(f"custom field {field_id} not found")
    db.session.execute(sa.delete(CustomValue).where(CustomValue.field_id == field_id))
    db.session.delete(field)
    _forget()


# --- values ---


def canonical(field: CustomField, raw) -> str | None:
    """The stored text of a value, or None for "no value"; ValueError when invalid."""
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and field.kind != "boolean"):
        return None
    text = str(raw).strip()
    if field.kind == "text":
        if len(text) > 500:
            raise ValueError("Use at most 500 characters.")
        return text
    if field.kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError("Enter a number.") from None
        if not number.is_finite():
            raise ValueError("Enter a number.")
        return str(number)
    if field.kind == "date":
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise ValueError("Enter a date as YYYY-MM-DD.") from None
    if field.kind == "choice":
        if text not in field.choices:
            raise ValueError(f"Choose one of: {', '.join(field.choices)}.")
        return text
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if text.lower() in TRUE:
        return "true"
    if text.lower() in FALSE:
        return "false"
    raise ValueError("Use true or false.")


def typed(field: CustomField, text: str | None):
    """A stored value as the API shows it (numbers as decimal strings, like money)."""
    if text is None:
        return None
    if field.kind == "boolean":
        return text == "true"
    return text


def validate(record_type: str, raw: dict | None, partial: bool) -> dict[str, str | None]:
    """Check the custom values sent for a record; errors are keyed ``custom.<name>``."""
    raw = raw or {}
    defined = {f.name: f for f in fields_for(record_type)}
    errors, clean = {}, {}
    for name in raw:
        if name not in defined:
            errors[PREFIX + name] = ["No such custom field."]
    for name, field in defined.items():
        if name not in raw:
            if field.required and not partial:
                errors[PREFIX + name] = ["This field is required."]
            continue
        try:
            clean[name] = canonical(field, raw[name])
        except ValueError as exc:
            errors[PREFIX + name] = [str(exc)]
            continue
        if clean[name] is None and field.required:
            errors[PREFIX + name] = ["This field is required."]
    if errors:
        raise ValidationFailed(errors)
    return clean


def save(record_type: str, record_id: int, values: dict[str, str | None]) -> None:
    """Store validated values on a record (None removes the value)."""
    if not values:
        return
    defined = {f.name: f for f in fields_for(record_type)}
    for name, text in values.items():
        field = defined[name]
        row = db.session.scalar(sa.select(CustomValue).where(
            CustomValue.field_id == field.id, CustomValue.record_id == record_id))
        if text is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(CustomValue(field_id=field.id, record_id=record_id, value=text))
        else:
            row.value = text
    db.session.flush()


def values_for(record_type: str, record_ids: list[int]) -> dict[int, dict]:
    """``{record id: {name: value}}`` for many records, in one query."""
    found: dict[int, dict] = {rid: {} for rid in record_ids}
    if not record_ids or not fields_for(record_type):  # the definitions are read once per request
        return found
    rows = db.session.execute(
        sa.select(CustomValue.record_id, CustomField, CustomValue.value)
        .join(CustomField, CustomField.id == CustomValue.field_id)
        .where(CustomField.record_type == record_type, CustomValue.record_id.in_(record_ids)))
    for record_id, field, text in rows:
        found[record_id][field.name] = typed(field, text)
    return found


def filter_ids(record_type: str, filters: dict[str, str]):
    """A subquery of record ids whose custom values equal ``filters`` (``{name: raw}``)."""
    if not filters:
        return []
    defined = {f.name: f for f in fields_for(record_type)}
    clauses, errors = [], {}
    for name, raw in filters.items():
        field = defined.get(name)
        if field is None:
            errors[PREFIX + name] = ["No such custom field."]
            continue
        try:
            text = canonical(field, raw)
        except ValueError as exc:
            errors[PREFIX + name] = [str(exc)]
            continue
        clauses.append(sa.select(CustomValue.record_id).where(
            CustomValue.field_id == field.id, CustomValue.value == text))
    if errors:
        raise ValidationFailed(errors)
    return clauses


def split_prefixed(mapping) -> dict[str, str]:
    """``{"custom.region": "North", "q": ...}`` -> ``{"region": "North"}``."""
    return {key[len(PREFIX):]: value for key, value in mapping.items() if key.startswith(PREFIX)}
