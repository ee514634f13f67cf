"""Order-to-cash flows per second through the service layer, next to the raw SQLite ceiling.

One flow, each step its own transaction as the API would run it: create a deal on an
account with a two-line quote and accept it; win it (order, reservation, delivery,
posted invoice); mark the delivery done; pay the invoice; read the account's panels
(financial status, orders and deliveries) as the account page renders them.

The ceiling, measured in the same run: plain ``sqlite3`` (same pragmas: WAL,
synchronous=NORMAL, foreign keys) committing one transaction per flow that inserts and
updates as many rows as a Tandem flow wrote. Rows written are counted from the database
(``total_changes()`` of the connection: every row inserted, updated or deleted).
Runs alternate (Tandem, ceiling, floor, Tandem...) so machine noise hits all alike; medians.

The floor, also measured in the same run: the same rows written through SQLAlchemy's ORM
(mapped objects, one flush and one commit per flow, nothing read, no business logic):
the least any flow on this stack can cost, whatever Tandem does on top.

    python bench/o2c.py [--flows 200] [--runs 5]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/postgres python bench/o2c.py
        (also runs the flows on a fresh PostgreSQL database, with psycopg as its ceiling)
"""
from __future__ import annotations

import os
import sys

# bench/http.py is named like the standard library's http package: keep this folder off the path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

import sqlalchemy as sa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import create_app  # noqa: E402
from core.cli import init_database  # noqa: E402
from core.db import db, transaction  # noqa: E402

ADMIN = "admin@example.com"
ACCOUNTS = 20
PRODUCTS = (("BENCH-A", "100.00"), ("BENCH-B", "25.00"))


class Counter:
    """Statements sent to the database and rows changed, from the engine's events."""

    def __init__(self, engine: sa.Engine):
        self.statements = 0
        self.changes = 0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self.statements += 1

    def _after(self, conn, cursor, statement, *_args):
        verb = statement.lstrip()[:6].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and cursor.rowcount and cursor.rowcount > 0:
            self.changes += cursor.rowcount


def build(url: str):
    """An app on a fresh database with every module, two stocked products and accounts."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        init_database(ADMIN, "bench-pass-123")
        from core import lifecycle

        with transaction():
            for name in ("crm", "erp_finance", "erp_inventory", "bridge"):
                lifecycle.install(name)
    with app.test_request_context(method="POST"), app.app_context():
        _login()
        from plugins.crm import services as crm
        from plugins.erp_inventory import services as inventory

        with transaction():
            inventory.create_warehouse({"code": "WH", "name": "Main"})
            for sku, price in PRODUCTS:
                inventory.create_product({"sku": sku, "name": f"Product {sku}", "sale_price": Decimal(price),
                                          "type": "stockable"})
                inventory.set_stock_level({"sku": sku, "warehouse": "WH", "quantity": Decimal("10000000")})
            for i in range(ACCOUNTS):
                crm.create_account({"name": f"Bench Customer {i}", "website": f"https://c{i}.example"})
    return app


def _login():
    from flask_login import login_user

    from core.auth import services as auth

    login_user(auth.user_by_email(ADMIN))


def one_flow(app, n: int) -> None:
    """One complete order-to-cash flow, each step its own transaction."""
    from core.ui import render_panels
    from plugins.bridge.models import OrderInvoice, SalesOrder
    from plugins.crm import services as crm
    from plugins.crm import work
    from plugins.crm.models import Account, Deal
    from plugins.erp_finance import payments
    from plugins.erp_inventory.models import StockDocument
    from plugins.erp_inventory.services import validate_document

    account_id = 1 + n % ACCOUNTS
    with app.test_request_context(method="POST"):
        _login()
        with transaction():
            deal = crm.create_deal({"title": f"Bench deal {n}", "account_id": account_id, "currency": "EUR"})
            quote = work.create_quote({"deal_id": deal.id, "lines": [
                {"product_ref": PRODUCTS[0][0], "quantity": "2"},
                {"product_ref": PRODUCTS[1][0], "quantity": "3"}]})
            work.accept_quote(quote)
            deal_id = deal.id
    with app.test_request_context(method="POST"):
        _login()
        with transaction():
            crm.win_deal(db.session.get(Deal, deal_id))
    with app.test_request_context(method="POST"):
        _login()
        with transaction():
            order = db.session.scalar(sa.select(SalesOrder).where(SalesOrder.deal_id == deal_id))
            delivery = db.session.scalar(sa.select(StockDocument).where(
                StockDocument.kind == "delivery", StockDocument.reference == order.number))
            validate_document(delivery)
            number = order.number
    with app.test_request_context(method="POST"):
        _login()
        with transaction():
            record, customer_id = db.session.execute(sa.select(OrderInvoice, SalesOrder.customer_id).join(
                SalesOrder).where(SalesOrder.deal_id == deal_id)).one()
            payments.register_payment({"customer_id": customer_id, "amount": record.amount,
                                       "allocations": [{"invoice_id": record.invoice_id, "amount": record.amount}]})
    with app.test_request_context():
        _login()
        with transaction():
            html = render_panels("crm.account", db.session.get(Account, account_id))
            assert "Financial status" in html and number in html, html[:500]


def tandem_run(app, counter: Counter, flows: int, start: int) -> dict:
    """``flows`` flows; flows/s, statements and rows changed per flow."""
    statements, changes = counter.statements, counter.changes
    t0 = time.perf_counter()
    for n in range(start, start + flows):
        one_flow(app, n)
    elapsed = time.perf_counter() - t0
    return {"fps": flows / elapsed, "statements": (counter.statements - statements) / flows,
            "changes": (counter.changes - changes) / flows}


def inserted_rows(app) -> int:
    """Rows in every table (to split what a flow wrote into inserts and updates)."""
    with app.app_context():
        with db.engine.connect() as conn:
            return sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                       for t in db.metadata.sorted_tables if sa.inspect(conn).has_table(t.name))


CEILING_SCHEMA = """
CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT, amount NUMERIC(18,2),
    quantity NUMERIC(18,3), state TEXT, created_at TIMESTAMP, updated_at TIMESTAMP);
CREATE INDEX IF NOT EXISTS ix_row_ref ON row (ref);
CREATE INDEX IF NOT EXISTS ix_row_created ON row (created_at);
"""


def sqlite_ceiling(path: str, flows: int, inserts: int, updates: int) -> float:
    """Raw sqlite3: one transaction per flow writing ``inserts`` new rows and ``updates``
    changes to rows it wrote; flows per second."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys=ON", "busy_timeout=10000", "journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript(CEILING_SCHEMA)
    t0 = time.perf_counter()
    for n in range(flows):
        conn.execute("BEGIN IMMEDIATE")
        ids = [conn.execute("INSERT INTO row (kind, ref, amount, quantity, state, created_at, updated_at) "
                            "VALUES (?, ?, ?, ?, ?, datetime('now'), datetime('now'))",
                            ("line", f"SO-{n:05d}", "100.00", "2.000", "draft")).lastrowid
               for _ in range(inserts)]
        for i in range(updates):
            conn.execute("UPDATE row SET state = ?, amount = amount + 1, updated_at = datetime('now') WHERE id = ?",
                         ("done", ids[i % len(ids)]))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return flows / elapsed


def postgres_ceiling(url: str, flows: int, inserts: int, updates: int) -> float:
    """The same on PostgreSQL through psycopg (one transaction per flow), the rows sent in
    batches (``executemany``: pipelined, one round trip per batch rather than per row):
    over a network connection the round trips, not the rows, are what a row at a time
    would measure, and the ORM already batches its inserts."""
    import psycopg

    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_row (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, "
                     "ref TEXT, amount NUMERIC(18,2), quantity NUMERIC(18,3), state TEXT, "
                     "created_at TIMESTAMP, updated_at TIMESTAMP)")
        conn.execute("CREATE INDEX IF NOT EXISTS ix_bench_row_ref ON bench_row (ref)")
        conn.commit()
        t0 = time.perf_counter()
        for n in range(flows):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany("INSERT INTO bench_row (kind, ref, amount, quantity, state, created_at, "
                                "updated_at) VALUES (%s, %s, %s, %s, %s, now(), now()) RETURNING id",
                                [("line", f"SO-{n:05d}", Decimal("100.00"), Decimal("2.000"), "draft")] * inserts,
                                returning=True)
                ids = []
                while True:
                    ids.append(cur.fetchone()[0])
                    if not cur.nextset():
                        break
                cur.executemany("UPDATE bench_row SET state = %s, amount = amount + 1, updated_at = now() "
                                "WHERE id = %s", [("done", ids[i % len(ids)]) for i in range(updates)])
        elapsed = time.perf_counter() - t0
    return flows / elapsed


def orm_floor(url: str, flows: int, inserts: int, updates: int) -> float:
    """The same rows through SQLAlchemy's ORM alone (bench/stack_floor/orm_rows.py); flows per second."""
    script = Path(__file__).resolve().parent / "stack_floor" / "orm_rows.py"
    out = subprocess.run([sys.executable, str(script), url, str(flows), str(inserts), str(updates)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def bench(url: str, ceiling, floor, flows: int, runs: int) -> dict:
    app = build(url)
    with app.app_context():
        counter = Counter(db.engine)
    n = 0
    tandem_run(app, counter, ACCOUNTS, n)  # warm-up: each account gets its finance customer
    n += ACCOUNTS
    rows_before = inserted_rows(app)
    tandem, ceilings, floors = [], [], []
    for _ in range(runs):
        tandem.append(tandem_run(app, counter, flows, n))
        n += flows
        per_flow = tandem[-1]["changes"]
        inserts = round((inserted_rows(app) - rows_before) / (n - ACCOUNTS))
        updates = max(round(per_flow - inserts), 0)
        ceilings.append(ceiling(flows, inserts, updates))
        floors.append(floor(flows, inserts, updates))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    med = lambda key: statistics.median(r[key] for r in tandem)  # noqa: E731
    ratios = [t["fps"] / c for t, c in zip(tandem, ceilings)]
    return {"fps": med("fps"), "statements": med("statements"), "changes": med("changes"),
            "inserts": inserts, "updates": updates, "ceiling": statistics.median(ceilings),
            "ratio": statistics.median(ratios), "floor": statistics.median(floors),
            "floor_ratio": statistics.median(f / c for f, c in zip(floors, ceilings))}


def report(name: str, r: dict, flows: int, runs: int) -> None:
    print(f"{name}: {runs} runs of {flows} flows, medians")
    print(f"  Tandem order-to-cash     : {r['fps']:8.1f} flows/s  ({1000 / r['fps']:.1f} ms per flow)")
    print(f"  statements per flow      : {r['statements']:8.1f}")
    print(f"  rows written per flow    : {r['changes']:8.1f}  ({r['inserts']} inserted, {r['updates']} updated)")
    print(f"  raw ceiling (1 tx/flow)  : {r['ceiling']:8.1f} flows/s")
    print(f"  Tandem / ceiling         : {r['ratio'] * 100:8.1f} %   (target >= 10 %, aim 25 %)")
    print(f"  ORM floor (rows alone)   : {r['floor']:8.1f} flows/s  ({r['floor_ratio'] * 100:.1f} % of the ceiling)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(f"sqlite:///{tmp}/o2c.sqlite",
                       lambda f, i, u: sqlite_ceiling(f"{tmp}/ceiling.sqlite", f, i, u),
                       lambda f, i, u: orm_floor(f"sqlite:///{tmp}/floor.sqlite", f, i, u), args.flows, args.runs)
    report("SQLite (WAL, synchronous=NORMAL)", result, args.flows, args.runs)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        target = sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
        try:
            result = bench(target, lambda f, i, u: postgres_ceiling(target, f, i, u),
                           lambda f, i, u: orm_floor(target, f, i, u), args.flows, args.runs)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        report("PostgreSQL", result, args.flows, args.runs)


if __name__ == "__main__":
    main()
