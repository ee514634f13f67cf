"""The audit trail: who created, changed or deleted each business record, and how.

Every flush of the session is watched: for each new, changed or deleted object of a
plugin's table (any table not prefixed ``core_``, unless its model says
``__audit__ = False``) one ``core_audit`` row records the actor, the time, the action
and the changed values (old and new). The rows are written in the same transaction as
the change, so a rolled-back action leaves no audit trace either.

The rows of a transaction's flushes are kept on the session and written in one
statement when it commits (or when a record's history is read), instead of one INSERT
per flush: an order-to-cash flow flushes some forty times. A savepoint rolled back
drops the rows collected inside it (``core.pending``).
"""
from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, listen_once, utcnow
from core.events import jsonable
from core.pending import PendingRows


class AuditEntry(db.Model):
    """One change to one record."""

    __tablename__ = "core_audit"
    __table_args__ = (sa.Index("ix_core_audit_record", "table_name", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    action: Mapped[str] = mapped_column(sa.String(10))  # create | update | delete
    table_name: Mapped[str] = mapped_column(sa.String(100))
    record_id: Mapped[str] = mapped_column(sa.String(64))
    changes: Mapped[dict] = mapped_column(sa.JSON)  # field -> [old, new]


def _audited(obj) -> bool:
    table = getattr(obj, "__tablename__", "")
    return bool(table) and not table.startswith("core_") and getattr(obj, "__audit__", True)


def _actor_id() -> int | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user.id if current_user.is_authenticated else None


def _record_id(obj) -> str:
    # the primary key as the flush left it (a new object has no identity key yet)
    key = sa.inspect(obj).mapper.primary_key_from_instance(obj)
    return "-".join(str(part) for part in key)


def _changes(obj, action: str) -> dict:
    state = sa.inspect(obj)
    values = state.dict  # what the flush wrote or loaded; reading it never goes to the database
    changes = {}
    for key in _audited_columns(state.mapper):
        if action == "create":
            value = values.get(key)
            if value is not None:
                changes[key] = [None, value]
        elif action == "delete":  # as loaded, before any change made ahead of the delete
            old = state.committed_state.get(key, values.get(key))
            if old is not None and old is not sa.orm.base.NO_VALUE:
                changes[key] = [old, None]
        else:
            history = state.attrs[key].history
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if old != new:
                    changes[key] = [old, new]
    return jsonable(changes)


@functools.cache
def _audited_columns(mapper) -> tuple[str, ...]:
    return tuple(c.key for c in mapper.column_attrs if c.key not in ("created_at", "updated_at"))


def _after_flush(session, _context) -> None:
    rows = []
    actor = None
    for action, objects in (("create", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
        for obj in objects:
            if not _audited(obj):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            actor = actor if actor is not None else _actor_id()
            rows.append({"at": utcnow(), "actor_id": actor, "action": action,
                         "table_name": obj.__tablename__, "record_id": _record_id(obj),
                         "changes": changes})
    AUDIT_ROWS.add(session, rows)


AUDIT_ROWS = PendingRows("audit", lambda connection, rows: connection.execute(sa.insert(AuditEntry), rows))


def install_audit_trail() -> None:
    """Listen to every flush of the app's sessions (called once by create_app)."""
    listen_once(sa.orm.Session, "after_flush", _after_flush)


def history_of(table_name: str, record_id: str, limit: int = 50) -> list[AuditEntry]:
    """A record's audit entries, newest first."""
    db.session.flush()
    AUDIT_ROWS.write_now(db.session)
    return db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.table_name == table_name,
                                    AuditEntry.record_id == str(record_id))
        .order_by(AuditEntry.id.desc()).limit(limit)).all()
