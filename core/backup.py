"""Backups: SQLite's online backup API, ``pg_dump``/``pg_restore`` for PostgreSQL.

``tandem backup FILE`` copies the whole database while the app keeps running;
``tandem restore FILE`` loads it into the database ``DATABASE_URL`` names, which must
be empty unless ``--force`` is given.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from core.errors import RuleViolation


def _sqlite_file(url: sa.URL) -> str:
    if not url.database or url.database == ":memory:":
        raise RuleViolation("an in-memory database cannot be backed up", code="backup_unsupported")
    return url.database


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    def major(path: Path) -> int:  # /usr/lib/postgresql/16/bin/pg_dump -> 16 (so 16 beats 9)
        return int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0

    found = shutil.which(name) or max(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=major, default=None)
    if not found:
        raise RuleViolation(f"{name} is not installed (it comes with the PostgreSQL client)",
                            code="backup_tool_missing")
    return str(found)


def backup(database_url: str, target: str) -> Path:
    """Write a consistent copy of the database to ``target`` while it stays in use."""
    url = sa.make_url(database_url)
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_file(url))
        copy = sqlite3.connect(path)
        with copy:
            source.backup(copy)
        copy.close()
        source.close()
    elif url.get_backend_name() == "postgresql":
        subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path),
                        _libpq(url)], check=True, capture_output=True)
    else:
        raise RuleViolation(f"no backup method for {url.get_backend_name()}", code="backup_unsupported")
    return path


def _has_tables(database_url: str) -> bool:
    engine = sa.create_engine(database_url)
    try:
        return bool(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def restore(source: str, database_url: str, force: bool = False) -> None:
    """Load a backup into the database at ``database_url`` (empty, unless ``force``)."""
    path = Path(source)
    if not path.is_file():
        raise RuleViolation(f"no backup file at {source}", code="backup_missing")
    if not force and _has_tables(database_url):
        raise RuleViolation("the target database is not empty; restore with --force to replace it",
                            code="restore_target_not_empty")
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        backup_db = sqlite3.connect(path)
        target = sqlite3.connect(_sqlite_file(url))
        with target:
            backup_db.backup(target)
        target.close()
        backup_db.close()
    elif url.get_backend_name() == "postgresql":
        command = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", _libpq(url)]
        if force:
            command[1:1] = ["--clean", "--if-exists"]
        subprocess.run([*command, str(path)], check=True, capture_output=True)
    else:
        raise RuleViolation(f"no restore method for {url.get_backend_name()}", code="backup_unsupported")
