"""HTML forms validated by the same marshmallow schemas as the API.

A view loads the posted form through the record's schema; on errors it renders the
form again with what was typed and each message next to its field (the ``field``
macro of ``core/macros.html``). One schema, one set of rules, for pages and API alike.
"""
from __future__ import annotations

from functools import wraps

import marshmallow as ma
from flask import flash, redirect, request, url_for

from core.db import db
from core.errors import TandemError, ValidationFailed


def raw_form(schema: ma.Schema) -> dict:
    """The posted values for the schema's loadable fields (empty text counts as not given)."""
    raw = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if isinstance(field, ma.fields.List):
            values = [v for v in request.form.getlist(key) if v != ""]
            if values or key in request.form:
                raw[key] = values
        elif isinstance(field, ma.fields.Boolean):
            raw[key] = key in request.form and request.form.get(key) not in ("", "0", "false")
        else:
            value = request.form.get(key)
            if value is not None and value.strip() != "":
                raw[key] = value.strip()
            elif value is not None and field.allow_none:
                raw[key] = None
    return raw


def load_form(schema: ma.Schema) -> tuple[dict | None, dict]:
    """``(data, {})`` when the posted form is valid, else ``(None, errors by field)``."""
    try:
        return schema.load(raw_form(schema)), {}
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return None, messages


def errors_of(exc: ValidationFailed) -> dict:
    """Field errors of a service's ``ValidationFailed``, for the same form rendering."""
    return exc.errors


def action(view):
    """A POST action behind a button (win, post, retry...): a refusal rolls back, becomes a
    flash message and sends the user back to the page they came from."""
    @wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ValidationFailed as exc:
            db.session.rollback()
            flash("Not done: " + "; ".join(" ".join(m) for m in exc.errors.values()), "error")
        except TandemError as exc:
            db.session.rollback()
            flash(f"Not done: {exc.message}", "error")
        return redirect(request.referrer or url_for("admin.home"))
    return run
