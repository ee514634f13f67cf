"""State changes that hold when two people press the same button at once.

Every action that moves a record from one state to another (validate a delivery, post an
invoice, win a deal, allocate a payment) is a service declared with ``state_change``::

    @state_change(StockDocument, "validate", states=("draft", "ready"))
    def validate_document(document, done=None):
        ...

Before the service runs, the record's row is locked (``SELECT ... FOR NO KEY UPDATE`` on
PostgreSQL; on SQLite a write request has held the database's single write lock since its
``BEGIN IMMEDIATE``) and read again under the lock. If its state is not one the action
starts from, the action is refused with 409 ``invalid_state`` naming the state it really
is in. Two requests racing therefore run one after the other, and the second sees what the
first did: the loser gets exactly what a serial caller would get after the winner.

A model says what its state is and which columns carry it::

    class StockDocument(db.Model):
        __state__ = "state"                  # an attribute or a property
        __state_columns__ = ("state", "done_at")

A flush that changes one of those columns on a row this transaction neither locked nor
created fails with ``UnlockedStateChange``: a service that forgets the mechanism fails its
tests, instead of racing in production. ``lock(record)`` is there for a service that must
lock a second record it changes (the invoices a payment is allocated to).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import db, listen_once, writing_request
from core.errors import NotFound, RuleViolation

_LOCKED = "tandem.locked_rows"


class InvalidState(RuleViolation):
    """The record is not in a state the action starts from (409, with the state found)."""

    code = "invalid_state"

    def __init__(self, message: str, state: str):
        super().__init__(message, details={"state": state})
        self.state = state

    def to_dict(self) -> dict:
        return {**super().to_dict(), "state": self.state}


class UnlockedStateChange(RuntimeError):
    """A programming error: a state column changed on a row its transaction never locked."""


@dataclasses.dataclass(frozen=True)
class Action:
    """One declared state change: on which model, its name, and the states it starts from."""

    model: type
    name: str
    states: tuple[str, ...]
    service: str


#: Every declared action, in declaration order (the concurrency tests read it).
ACTIONS: list[Action] = []


def state_of(record) -> str:
    """The record's state, as its model declares it (``__state__``)."""
    return str(getattr(record, type(record).__state__))


def _key(record) -> tuple[str, tuple]:
    return type(record).__table__.name, sa.inspect(record).identity


def lock(record):
    """Lock ``record``'s row until the transaction ends and read it again; returns it.

    A record this transaction locked or created already is returned as it is (its
    unflushed changes kept). A record deleted meanwhile is ``NotFound`` (404).
    """
    identity = sa.inspect(record).identity
    if identity is None:  # not in the database yet: nobody else can see it
        return record
    return _locked(type(record), identity, record)


def lock_by_id(model, record_id: int):
    """The row of ``model`` with ``record_id``, locked and read again (see ``lock``)."""
    return _locked(model, (record_id,), None)


def lock_all(model, record_ids) -> list:
    """Lock the rows of ``model`` with these ids, in id order (two callers never deadlock),
    and read them again; returns them in id order."""
    ids = sorted(set(record_ids))
    locked = db.session.info.setdefault(_LOCKED, set())
    table = model.__table__.name
    todo = [i for i in ids if (table, (i,)) not in locked]
    if todo:
        pk = sa.inspect(model).primary_key[0]
        _take_sqlite_write_lock(model, todo)
        db.session.execute(sa.select(model).where(pk.in_(todo)).order_by(pk)
                           .options(sa.orm.lazyload("*")).with_for_update(key_share=True)
                           .execution_options(populate_existing=True)).scalars().all()
        locked.update((table, (i,)) for i in todo)
    return [db.session.get(model, i) for i in ids]


def _locked(model, identity: tuple, record):
    """One ``SELECT ... FOR NO KEY UPDATE`` (PostgreSQL) that refreshes the row in the session.

    ``NO KEY UPDATE``: rows that refer to it (a draft entry's journal, a delivery's lines)
    may still be inserted meanwhile. Relationships are not joined in, as PostgreSQL cannot
    lock the nullable side of an outer join; they load again when next read. On SQLite the
    statement is a plain SELECT: a write request holds the database's write lock already.
    """
    locked = db.session.info.setdefault(_LOCKED, set())
    key = (model.__table__.name, tuple(identity))
    if key in locked:
        found = record if record is not None else db.session.get(model, identity)
    else:
        pk = sa.inspect(model).primary_key
        _take_sqlite_write_lock(model, [identity[0]])
        found = db.session.execute(
            sa.select(model).where(*(column == value for column, value in zip(pk, identity)))
            .options(sa.orm.lazyload("*")).with_for_update(key_share=True)
            .execution_options(populate_existing=True)).scalar_one_or_none()
        if found is not None:
            locked.add(key)
    if found is None:
        raise NotFound(f"{model.__name__} {identity[0]} no longer exists")
    return found


def _take_sqlite_write_lock(model, ids: list) -> None:
    """SQLite has no row locks: a transaction that did not begin IMMEDIATE (a CLI command,
    a script) takes the database's write lock with a write that changes nothing, so the
    SELECT after it reads what the last writer committed and nobody writes until it ends.
    A write request began IMMEDIATE and holds that lock already."""
    if db.session.get_bind().dialect.name != "sqlite" or writing_request():
        return
    table, pk = model.__table__.name, sa.inspect(model).primary_key[0].name
    marks = ", ".join(f":id{i}" for i in range(len(ids)))
    db.session.execute(sa.text(f'UPDATE "{table}" SET "{pk}" = "{pk}" WHERE "{pk}" IN ({marks})'),
                       {f"id{i}": value for i, value in enumerate(ids)})


def require_state(record, states: Iterable[str], action: str) -> None:
    """Refuse (409 ``invalid_state``) unless the locked ``record`` is in one of ``states``."""
    current = state_of(record)
    if current not in tuple(states):
        raise InvalidState(f"{_name(record)} is {current.replace('_', ' ')}: it cannot be {_past(action)}.",
                           state=current)


def state_change(model: type, action: str, states: Iterable[str]) -> Callable:
    """Declare ``service(record, ...)`` as the action ``action`` on ``model``'s records,
    allowed from ``states``: the record is locked and its state checked again under the
    lock before the service runs (see the module's docstring). The service receives the
    record read again, so every check it makes sees the state the winner left."""
    states = tuple(states)

    def declare(service: Callable) -> Callable:
        ACTIONS.append(Action(model, action, states, f"{service.__module__}.{service.__qualname__}"))

        @functools.wraps(service)
        def run(record, *args, **kwargs):
            record = lock(record)
            require_state(record, states, action)
            return service(record, *args, **kwargs)

        run.state_action = ACTIONS[-1]
        return run

    return declare


def _name(record) -> str:
    label = next((getattr(record, attr) for attr in ("number", "reference", "title", "name")
                  if getattr(record, attr, None)), None)
    return str(label) if label else f"{type(record).__name__} {sa.inspect(record).identity[0]}"


def _past(verb: str) -> str:
    """``validate`` -> ``validated``; a phrase (``given lines``) is already past."""
    if " " in verb:
        return verb
    irregular = {"win": "won", "lose": "lost", "send": "sent", "run": "run", "pay": "paid",
                 "change": "changed"}
    if verb in irregular:
        return irregular[verb]
    return verb + "d" if verb.endswith("e") else verb + "ed"


# --- the check that no state changes without the mechanism ---


def _check_locked(session: Session, _context, _instances) -> None:
    locked = session.info.get(_LOCKED, ())
    for record in session.dirty:
        columns = getattr(type(record), "__state_columns__", None)
        if not columns or _key(record) in locked:
            continue
        changed = [c for c in columns if sa.inspect(record).attrs[c].history.has_changes()]
        if changed:
            raise UnlockedStateChange(
                f"{type(record).__name__} {sa.inspect(record).identity}: {', '.join(changed)} changed "
                f"without the row being locked first (declare the service with core.states.state_change, "
                f"or call core.states.lock on the record before changing it)")


def _remember_insert(mapper, _connection, target) -> None:
    """A row this transaction inserted is its own: nobody else sees it before the commit."""
    if getattr(type(target), "__state_columns__", None):
        session = sa.orm.object_session(target)
        session.info.setdefault(_LOCKED, set()).add(
            (type(target).__table__.name, tuple(mapper.primary_key_from_instance(target))))


def _forget_locks(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)


def watch_state_changes() -> None:
    """Install the check that state columns change only on locked rows (every session)."""
    listen_once(Session, "before_flush", _check_locked)
    listen_once(Session, "after_transaction_end", _forget_locks)
    listen_once(sa.orm.Mapper, "after_insert", _remember_insert)
