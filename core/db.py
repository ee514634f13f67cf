"""The database handle shared by the kernel and every plugin.

One SQLAlchemy metadata holds every plugin's tables (each prefixed with its plugin's
name); Alembic branches, one per plugin, create them (see ``core.migrate``).
A web request is one transaction: the kernel commits when the response is a success
and rolls back otherwise, so a service never commits on its own and events fired by a
service run inside the action that fired them.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, current_app, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql import operators

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

#: Money and quantities: exact decimals, never floats.
Money = sa.Numeric(18, 2, asdecimal=True)
Quantity = sa.Numeric(18, 3, asdecimal=True)
ZERO = Decimal("0.00")


@compiles(sa.sql.elements.BinaryExpression, "sqlite")
def _like_on_sqlite(binary, compiler, **kw):
    """``ilike`` on SQLite is its plain LIKE, which already ignores case (ASCII, as its
    lower() does): ``lower(title) LIKE lower(?)`` made a search over 200,000 deals three
    times slower than ``title LIKE ?`` for the same rows."""
    if binary.operator is operators.ilike_op:
        binary = binary.left.like(binary.right, escape=binary.modifiers.get("escape"))
    elif binary.operator is operators.not_ilike_op:
        binary = binary.left.not_like(binary.right, escape=binary.modifiers.get("escape"))
    return compiler.visit_binary(binary, **kw)


def utcnow() -> dt.datetime:
    """The current time in UTC, naive (what every timestamp column stores)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Timestamped:
    """Columns every business record carries: when it was created and last changed."""

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


@contextmanager
def transaction():
    """Run a block as one transaction outside a request (CLI commands, scripts, benchmarks).

    Commits when the block ends normally, rolls back and re-raises otherwise.
    """
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def in_savepoint(action, *args):
    """Run ``action(*args)`` in a savepoint: ``(its result, None)``, or ``(None, the
    exception)`` with only the action's own writes rolled back. For a step whose failure
    must not undo the rest of the transaction; the caller decides what the failure means."""
    try:
        with db.session.begin_nested():
            return action(*args), None
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, never lost
        return None, exc


READ_ENGINE = "tandem.read_engine"


def init_read_engine(app: Flask) -> None:
    """Open the read-only engine when ``TANDEM_READONLY_DATABASE_URI`` is set
    (``DATABASE_URL_READONLY`` in the environment): a replica of the database that
    report queries and list pages read from (see ``read_session``)."""
    url = app.config.get("TANDEM_READONLY_DATABASE_URI")
    if not url:
        return
    engine = sa.create_engine(url, pool_pre_ping=True)
    configure_engine_events(engine, read_only=True)
    app.extensions[READ_ENGINE] = engine
    app.teardown_appcontext(_close_read_session)


def read_session() -> Session:
    """The session for read-only queries that may lag the primary by a moment: reports
    and list pages. On the replica when one is configured and the request only reads;
    otherwise (a request that writes, CLI commands and scheduled jobs, no replica) the
    ordinary session, so an action always reads its own writes.
    """
    from flask import has_request_context

    engine = current_app.extensions.get(READ_ENGINE)
    if engine is None or not has_request_context() or writing_request():
        return db.session
    if "tandem_read_session" not in g:
        g.tandem_read_session = Session(bind=engine, autoflush=False, expire_on_commit=False)
    return g.tandem_read_session


def listen_once(target, name: str, listener) -> None:
    """``sa.event.listen``, unless ``listener`` already listens there: the kernel's session
    and mapper listeners are installed by every ``create_app`` of a process (tests make many)."""
    if not sa.event.contains(target, name, listener):
        sa.event.listen(target, name, listener)


_KEPT = "tandem.kept_objects"


def _keep(session, instance) -> None:
    session.info.setdefault(_KEPT, set()).add(instance)


def _let_go(session, instance) -> None:
    session.info.get(_KEPT, set()).discard(instance)


def keep_loaded_objects() -> None:
    """Let a session hold the records it loaded until it ends (SQLAlchemy's own recipe).

    The identity map holds records weakly: a settings row, a journal or a product that
    no variable still refers to was forgotten and selected again by the next step of
    the same action (five times the finance settings in one won deal). A session lasts
    one request (or one CLI command); commits and rollbacks still expire what it holds.
    """
    for name in ("pending_to_persistent", "deleted_to_persistent", "detached_to_persistent",
                 "loaded_as_persistent"):
        listen_once(Session, name, _keep)
    for name in ("persistent_to_detached", "persistent_to_deleted", "persistent_to_transient"):
        listen_once(Session, name, _let_go)


def _close_read_session(_exc=None) -> None:
    session = g.pop("tandem_read_session", None)
    if session is not None:
        session.close()


def writing_request() -> bool:
    """Whether the current request writes (POST, PUT, PATCH, DELETE): its transaction begins IMMEDIATE on SQLite."""
    from flask import has_request_context, request

    return has_request_context() and request.method in ("POST", "PUT", "PATCH", "DELETE")


def configure_engine_events(engine: sa.Engine, read_only: bool = False) -> None:
    """SQLite: real transactions (DDL included), foreign keys, WAL, and a busy timeout.
    ``read_only``: every transaction of the engine refuses writes (SQLite's
    ``query_only``, PostgreSQL's read-only session), so nothing is written to a replica.

    The sqlite3 driver by default neither begins a transaction before DDL nor lets
    SQLAlchemy control BEGIN; taking over BEGIN makes an install (CREATE TABLE...) roll
    back as a whole when something fails, as it does on PostgreSQL.

    A request that writes begins IMMEDIATE: it takes SQLite's single write lock first
    (waiting up to the busy timeout) instead of reading and then failing to upgrade
    because another writer committed in between. Writers are serialised, which is
    also what makes read-check-write sequences (stock, credit, numbering) safe here.
    """
    if engine.dialect.name != "sqlite":
        if read_only:
            @sa.event.listens_for(engine, "connect")
            def _read_only_session(dbapi_conn, _record):
                autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
                with dbapi_conn.cursor() as cur:
                    cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                dbapi_conn.autocommit = autocommit
        return

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing_request() else "BEGIN")

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # the driver no longer issues BEGIN/COMMIT itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # the default 2 MB page cache thrashes on a large book: reports read through
            # memory-mapped pages and a 64 MB cache, sorts stay in memory
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA mmap_size=1073741824")
            cur.execute("PRAGMA temp_store=MEMORY")
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        cur.close()


def table_exists(name: str) -> bool:
    """Whether a table exists in the connected database (used before the schema is made)."""
    return sa.inspect(db.engine).has_table(name)
