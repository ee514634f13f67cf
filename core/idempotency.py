"""Retry-safe writes: the ``Idempotency-Key`` header (and the hidden field of every form).

The first request with a key does the work; its response (status and body) is stored
with a hash of the request in the same transaction as the work. A repeat with the
same key and the same request gets the stored response and changes nothing; with a
different request it gets 409 ``idempotency_key_reused``; while the first is still
running, 409 ``idempotency_key_in_progress``. Keys are per user and expire after
``IDEMPOTENCY_TTL_HOURS`` (24 by default).

A key is claimed in its own, immediately committed transaction, so a concurrent
repeat sees the claim at once. A claim whose request died before finishing is taken
over after ``IDEMPOTENCY_STALE_SECONDS``: its work was rolled back with it.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from flask import Response, current_app, g, request
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class IdempotencyKey(db.Model):
    """A claimed key and, once the request finished, its stored response."""

    __tablename__ = "core_idempotency_key"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.Integer)
    key: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    location: Mapped[str | None] = mapped_column(sa.String(2000))
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


MAX_KEY = 200  # the documented limit: a longer key is refused, never cut (two would clash)


def _key() -> str | None:
    key = request.headers.get(HEADER) or request.form.get(FORM_FIELD)
    return key.strip() if key and key.strip() else None


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode()}\n".encode())
    if request.form:
        fields = sorted((k, v) for k, v in request.form.items(multi=True)
                        if k not in (FORM_FIELD, "csrf_token"))
        digest.update(repr(fields).encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.body or b"", status=row.status_code, content_type=row.content_type)
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _refuse(code: str, message: str, status: int = 409, **extra):
    from core.api import error_response, is_api_request

    if is_api_request():
        return error_response(status, code, message, **extra)
    from flask import render_template

    title = "Already sent" if status == 409 else "Invalid input"
    return render_template("core/error.html", status=status, title=title, message=message), status


def claim(user_id: int):
    """Before a write: claim the request's key, or answer for it. None lets the view run."""
    key = _key()
    if key is None or request.method not in WRITE_METHODS:
        return None
    if len(key) > MAX_KEY:
        too_long = f"An {HEADER} has at most {MAX_KEY} characters."
        return _refuse("validation_failed", too_long, 422, errors={HEADER: [too_long]})
    request_hash = _request_hash()
    ttl = dt.timedelta(hours=current_app.config.get("IDEMPOTENCY_TTL_HOURS", 24))
    stale = dt.timedelta(seconds=current_app.config.get("IDEMPOTENCY_STALE_SECONDS", 300))
    now = utcnow()
    table = IdempotencyKey.__table__
    db.session.rollback()  # nothing written yet; frees SQLite's write lock for the claim
    with db.engine.begin() as conn:  # committed at once: concurrent repeats must see it
        row = conn.execute(sa.select(table).where(table.c.user_id == user_id,
                                                  table.c.key == key)).first()
        if row is not None:
            expired = row.created_at < now - ttl
            abandoned = row.status_code is None and row.created_at < now - stale
            if not (expired or abandoned):
                if row.request_hash != request_hash:
                    return _refuse("idempotency_key_reused",
                                   "This Idempotency-Key was already used for a different request.")
                if row.status_code is None:
                    return _refuse("idempotency_key_in_progress",
                                   "A request with this Idempotency-Key is still being processed.")
                return _replay(IdempotencyKey(**row._mapping))
            taken = conn.execute(sa.update(table).where(
                table.c.id == row.id, table.c.created_at == row.created_at).values(
                request_hash=request_hash, status_code=None, body=None, location=None,
                content_type=None, created_at=now)).rowcount
            if not taken:
                return _refuse("idempotency_key_in_progress",
                               "A request with this Idempotency-Key is still being processed.")
            g.idempotency_id = row.id
            return None
        try:
            with conn.begin_nested():
                g.idempotency_id = conn.execute(sa.insert(table).values(
                    user_id=user_id, key=key, request_hash=request_hash, created_at=now)
                    .returning(table.c.id)).scalar_one()
        except sa.exc.IntegrityError:  # a concurrent twin claimed it first
            return _refuse("idempotency_key_in_progress",
                           "A request with this Idempotency-Key is still being processed.")
    return None


def record(response: Response) -> None:
    """Store a successful response inside the request's own transaction (before commit)."""
    row_id = g.pop("idempotency_id", None)
    if row_id is None:
        return
    g.idempotency_pending = row_id
    db.session.execute(sa.update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(
        status_code=response.status_code, content_type=response.content_type,
        location=response.headers.get("Location"), body=response.get_data()))


def release(response: Response) -> None:
    """After a failed request: store a client error for the API, or free the key to retry."""
    row_id = g.pop("idempotency_id", None) or g.pop("idempotency_pending", None)
    if row_id is None:
        return
    from core.api import is_api_request

    table = IdempotencyKey.__table__
    with db.engine.begin() as conn:
        if is_api_request() and 400 <= response.status_code < 500:
            conn.execute(sa.update(table).where(table.c.id == row_id).values(
                status_code=response.status_code, content_type=response.content_type,
                body=response.get_data()))
        else:  # a server error, or a form to correct and send again: the key is free
            conn.execute(sa.delete(table).where(table.c.id == row_id))
