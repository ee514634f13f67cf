"""The stack's floor for a flow: SQLAlchemy's ORM writing a flow's rows, nothing of Tandem.

Per flow, one transaction: ``inserts`` mapped objects added and flushed once, then
``updates`` of them changed, committed. Nothing is read and no business logic runs: the
least any flow writing those rows can cost through the ORM. A process of its own, so
none of Tandem's session events (audit trail, pending rows) run here.

    python bench/stack_floor/orm_rows.py URL FLOWS INSERTS UPDATES   -> prints flows per second
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class FloorRow(Base):
    """The raw ceiling's row (bench/o2c.py), mapped."""

    __tablename__ = "bench_floor_row"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    ref: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 3))
    state: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime | None]


def use_tandem_pragmas(engine: sa.Engine) -> sa.Engine:
    """SQLite as Tandem and the raw ceiling run it: WAL, synchronous=NORMAL, foreign keys."""
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            for pragma in ("foreign_keys=ON", "busy_timeout=10000", "journal_mode=WAL", "synchronous=NORMAL"):
                dbapi_conn.execute(f"PRAGMA {pragma}")
    return engine


def run(url: str, flows: int, inserts: int, updates: int) -> float:
    engine = use_tandem_pragmas(sa.create_engine(url))
    Base.metadata.create_all(engine)
    now = dt.datetime.now
    t0 = time.perf_counter()
    for n in range(flows):
        with Session(engine) as session, session.begin():
            rows = [FloorRow(kind="line", ref=f"SO-{n:05d}", amount=Decimal("100.00"), quantity=Decimal("2.000"),
                             state="draft", created_at=now(), updated_at=now()) for _ in range(inserts)]
            session.add_all(rows)
            session.flush()
            for i in range(updates):
                row = rows[i % len(rows)]
                row.state, row.amount, row.updated_at = "done", row.amount + 1, now()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return flows / elapsed


if __name__ == "__main__":
    print(run(sys.argv[1], *(int(a) for a in sys.argv[2:5])))
