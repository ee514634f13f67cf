"""Emitting business events: once per idempotency key, inside the caller's transaction.

    emit("on_deal_won", DealWon(deal_id=7, ...), key="deal:7:won")

records the event in ``core_event`` and calls every installed plugin's
``on_deal_won(event=...)``. The key is unique in the table, so a second emit with the
same key (a retry, a double click, a concurrent request) inserts nothing and calls
nobody. A handler that raises aborts the whole action: ``EventHandlerError`` names the
plugin, and the request's transaction is rolled back with everything the action wrote.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import importlib
import logging
import types
import typing

from flask import has_request_context
from sqlalchemy.dialects import postgresql, sqlite

from core.db import db, utcnow
from core.errors import RuleViolation, TandemError
from core.models import Event
from core.registry import current_registry

log = logging.getLogger(__name__)


class EventHandlerError(RuleViolation):
    """A plugin's handler of an event failed; the action that emitted it is refused."""

    code = "event_handler_failed"

    def __init__(self, hook_name: str, plugin: str, reason: str):
        super().__init__(f"{plugin} could not handle {hook_name}: {reason}",
                         details={"plugin": plugin, "event": hook_name})
        self.plugin = plugin


def jsonable(value):
    """Event payloads as JSON: Decimals and dates become strings."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (decimal.Decimal, dt.date, dt.datetime)):
        return str(value)
    return value


def type_name(event) -> str:
    """``module:QualName`` of an event's dataclass, for ``rebuild`` to find it again."""
    return f"{type(event).__module__}:{type(event).__qualname__}"


def rebuild(name: str, payload: dict):
    """The event ``jsonable`` turned into ``payload``, as its dataclass ``name`` again
    (``module:QualName``): Decimals, dates, nested events and tuples restored from their hints."""
    module, _, qualname = name.partition(":")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return _typed(cls, payload)


def _typed(hint, value):
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _typed(next(a for a in args if a is not type(None)), value)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{f.name: _typed(hints[f.name], value[f.name])
                       for f in dataclasses.fields(hint) if f.name in value})
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], v) for v in value)
        return tuple(_typed(a, v) for a, v in zip(args, value))
    if origin is list:
        return [_typed(args[0], v) for v in value]
    if hint is decimal.Decimal:
        return decimal.Decimal(value)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    return value


def _actor_id() -> int | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user.get_id() and int(current_user.get_id())


def _record(hook_name: str, payload: dict, key: str) -> bool:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Event).values(key=key, name=hook_name, payload=payload,
                                actor_id=_actor_id(), created_at=utcnow())
    stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(Event.id)
    return db.session.execute(stmt).scalar() is not None  # no row back: the key was known


def _plugin_of(exc: BaseException) -> str:
    """The first installed plugin whose code appears in the traceback (the failing handler)."""
    packages = {info.package: name for name, info in current_registry().plugins.items()}
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        for package, name in packages.items():
            if module == package or module.startswith(package + "."):
                return name
        tb = tb.tb_next
    return "unknown plugin"


def emit(hook_name: str, event, key: str) -> bool:
    """Record ``event`` under ``key`` and call the ``hook_name`` implementations.

    Returns False, calling no handler, when ``key`` was already recorded. Raises
    ``EventHandlerError`` when a handler fails; the caller's transaction must then be
    rolled back (a request does this by itself).
    """
    if not _record(hook_name, jsonable(event), key):
        return False
    try:
        getattr(current_registry().hook, hook_name)(event=event)
    except EventHandlerError:
        raise
    except TandemError as exc:
        raise EventHandlerError(hook_name, _plugin_of(exc), exc.message) from exc
    except Exception as exc:
        log.exception("a handler of %s failed", hook_name)
        raise EventHandlerError(hook_name, _plugin_of(exc), f"{type(exc).__name__}: {exc}") from exc
    return True
