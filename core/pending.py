"""Rows a transaction collects as it goes and writes in one statement when it commits.

The audit trail and the finance plugin's daily account balances both write a row (or
add to one) for many small changes of a transaction. Writing them once, at commit,
costs one statement instead of one per change; and rows that several transactions
update (an account's balance of the day) stay locked only for the instant of the
commit, taken in one order, so two transactions cannot deadlock on them.

A savepoint that rolls back drops the rows collected inside it; a rollback drops all.
Code that must read its own transaction's rows first calls ``write_now``.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from core.db import listen_once

_KINDS: dict[str, "PendingRows"] = {}


class PendingRows:
    """One kind of collected rows: ``write(connection, rows)`` stores them (one statement)."""

    def __init__(self, name: str, write: Callable[[sa.Connection, list], None]):
        self.key = f"tandem.pending.{name}"
        self.write = write
        _KINDS[name] = self
        install()

    def add(self, session, rows: list) -> None:
        """Keep ``rows`` for the commit of ``session``'s transaction."""
        if rows:
            session.info.setdefault(self.key, []).extend(rows)

    def write_now(self, session) -> None:
        """Write what this kind collected so far (a read of the transaction's own rows follows)."""
        rows = session.info.pop(self.key, None)
        if not rows:
            return
        # rows collected before an open savepoint are now written inside it: should it
        # roll back, the database forgets them, so they are collected again
        for marks in session.info.get(_MARKS, {}).values():
            count, restore = marks.get(self.key, (0, []))
            marks[self.key] = (0, restore + rows[:count])
        self.write(session.connection(), rows)


_MARKS = "tandem.pending.savepoints"


def _before_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its rows wait for the commit
        return
    session.flush()  # what is still unflushed may collect rows too
    for kind in _KINDS.values():
        kind.write_now(session)
    session.info.pop(_MARKS, None)


def _savepoint_started(session, transaction) -> None:
    if transaction.nested:  # where each kind's rows stand, to drop the later ones on rollback
        session.info.setdefault(_MARKS, {})[transaction] = {
            kind.key: (len(session.info.get(kind.key, ())), []) for kind in _KINDS.values()}


def _rolled_back(session, previous_transaction) -> None:
    marks = session.info.get(_MARKS, {}).pop(previous_transaction, None)
    if previous_transaction.nested and marks is not None:
        for kind in _KINDS.values():
            count, restore = marks.get(kind.key, (0, []))
            session.info[kind.key] = restore + session.info.get(kind.key, [])[:count]
    elif not previous_transaction.nested:
        for kind in _KINDS.values():
            session.info.pop(kind.key, None)
        session.info.pop(_MARKS, None)


LISTENERS = (("before_commit", _before_commit), ("after_transaction_create", _savepoint_started),
             ("after_soft_rollback", _rolled_back))


def install() -> None:
    """Listen to the commits and rollbacks of every session (idempotent)."""
    for name, listener in LISTENERS:
        listen_once(sa.orm.Session, name, listener)
