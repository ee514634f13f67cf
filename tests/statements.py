"""Counting the SQL statements a request sends to the database (to catch N+1 queries)."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from core.db import db


class StatementLog:
    """The statements seen while counting, in order."""

    def __init__(self):
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(s.split("\n", 1)[0][:160] for s in self.statements)


@contextmanager
def counting_statements(app):
    """Count every statement of every engine of ``app`` (the replica's too) inside the block."""
    log = StatementLog()

    def before(_conn, _cursor, statement, *_args):
        log.statements.append(statement)

    with app.app_context():
        engines = [db.engine, *[e for k, e in app.extensions.items() if k == "tandem.read_engine"]]
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", before)


def statements_of(client, url: str, app) -> StatementLog:
    """The statements one GET of ``url`` sends (the response must be a 200)."""
    with counting_statements(app) as log:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
    return log
