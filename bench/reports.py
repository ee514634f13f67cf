"""Reports and first list pages on a large book, at 100 k and at 1 M journal lines.

Builds a book fast (bulk inserts of rows cloned from ones the services wrote, with a
progress bar): 1,000,000 journal lines, 200,000 deals, 100,000 stock moves, 50,000
invoices (each posted, with its entry and due date), 1,000 stocked products. It first
grows the book to a tenth of that and times every report and list, then to the full
size and times them again, so the growth of each timing can be read against the growth
of the rows it reads.

Each timing is the median of ``--runs`` calls through the JSON API (the Flask test
client: routing, auth, the query, serialisation; no network). The baseline, measured in
the same run, is the floor of the same question: plain ``sqlite3`` scanning the rows the
report aggregates (``SELECT count(*), sum(...)`` over them) or fetching the 50 rows of the
page by an index. Targets: each report under 300 ms and each first page under 50 ms at 1 M.

    python bench/reports.py [--runs 5] [--scale 1.0] [--keep DIR]

``--keep DIR`` keeps the two books in DIR and reuses them on the next run (to time a
change without building the book again).
"""
from __future__ import annotations

import os
import sys

# bench/http.py is named like the standard library's http package: keep this folder off the path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.dirname(HERE))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402

import click  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from core.db import db  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_o2c", os.path.join(HERE, "o2c.py"))
o2c = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(o2c)

FULL = {"journal_lines": 1_000_000, "deals": 200_000, "moves": 100_000, "invoices": 50_000, "products": 1_000}
BATCH = 20_000
TODAY = dt.date.today()

# what each timed call reads, and the floor query over the same rows
REPORTS = {
    "trial balance": ("/api/v1/finance/reports/trial-balance",  # reads the accounts' daily sums
                      "SELECT count(*), sum(debit), sum(credit) FROM finance_account_day"),
    "receivables aging": ("/api/v1/finance/reports/receivables-aging",
                          "SELECT count(*), sum(i.amount) FROM finance_installment i "
                          "JOIN finance_invoice v ON v.id = i.invoice_id"),
    "one customer's credit status": ("/api/v1/finance/customers/1/status",  # what a won deal checks
                                     "SELECT count(*), sum(i.amount) FROM finance_installment i "
                                     "JOIN finance_invoice v ON v.id = i.invoice_id WHERE v.customer_id = 1"),
    "pipeline forecast by month": ("/api/v1/crm/reports/forecast",
                                   "SELECT count(*), sum(amount) FROM crm_deal"),
    "stock valuation": ("/api/v1/inventory/reports/valuation",
                        "SELECT count(*), sum(q.quantity * p.cost) FROM inventory_quant q "
                        "JOIN inventory_product p ON p.id = q.product_id"),
}
LISTS = {
    "journal entries, posted, by date": ("/api/v1/finance/entries?state=posted&sort=-date&per_page=50",
                                         "SELECT * FROM finance_entry ORDER BY date DESC, id DESC LIMIT 50"),
    "invoices, posted, by amount": ("/api/v1/finance/invoices?state=posted&sort=-amount_total&per_page=50",
                                    "SELECT * FROM finance_invoice ORDER BY amount_total DESC LIMIT 50"),
    "deals, one stage, by amount": ("/api/v1/crm/deals?stage_id=2&sort=-amount&per_page=50",
                                    "SELECT * FROM crm_deal WHERE stage_id = 2 ORDER BY amount DESC LIMIT 50"),
    "deals, search by title": ("/api/v1/crm/deals?q=Deal%2012345&per_page=50",
                               "SELECT * FROM crm_deal WHERE title LIKE '%Deal 12345%' LIMIT 50"),
    "stock moves (movement history)": ("/api/v1/inventory/reports/movements?per_page=50",
                                       "SELECT * FROM inventory_move ORDER BY done_at DESC LIMIT 50"),
}


class Book:
    """Grows the book by cloning rows the services wrote (every NOT NULL column filled as
    the application fills it), with explicit ids so lines can point at their entries."""

    def __init__(self, app):
        self.app = app
        self.rng = random.Random(7)
        with app.app_context():
            self.seed = {name: self._first(name) for name in (
                "crm_deal", "finance_invoice", "finance_installment", "finance_entry", "finance_entry_line",
                "inventory_move", "inventory_product", "inventory_quant")}
            self.customers = [r[0] for r in db.session.execute(sa.text("SELECT id FROM finance_customer"))]
            accounts = dict(db.session.execute(sa.text("SELECT code, id FROM finance_account")).all())
            self.receivable, self.income, self.tax = accounts["1100"], accounts["4000"], accounts["2200"]
            self.expense = [accounts[c] for c in ("6000", "6100", "6200", "6300", "6400", "5000")]
            self.bank = accounts["1000"]
            self.locations = dict(db.session.execute(sa.text("SELECT kind, id FROM inventory_location")).all())
        self.counts = {"journal_lines": self._count("finance_entry_line"), "deals": self._count("crm_deal"),
                       "moves": self._count("inventory_move"), "invoices": self._count("finance_invoice"),
                       "products": self._count("inventory_product")}

    def _first(self, table):
        t = db.metadata.tables[table]
        return dict(db.session.execute(sa.select(t).order_by(t.c.id.desc()).limit(1)).mappings().one())

    def _count(self, table) -> int:
        with self.app.app_context():
            return db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()

    def _next_id(self, table) -> int:
        return db.session.execute(sa.text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar()

    def _insert(self, table, rows, bar) -> None:
        if rows:
            db.session.execute(db.metadata.tables[table].insert(), rows)
            bar.update(len(rows))

    def grow_to(self, scale: float) -> None:
        target = {k: int(v * scale) for k, v in FULL.items()}
        missing = {k: max(target[k] - self.counts[k], 0) for k in target}
        total = sum(missing.values())
        with self.app.app_context(), click.progressbar(length=total, label=f"book at {scale:g}x") as bar:
            self._products(missing["products"], bar)
            self._deals(missing["deals"], bar)
            lines = self._invoices(missing["invoices"], bar)
            self._journal(max(missing["journal_lines"] - lines, 0), bar)
            self._moves(missing["moves"], bar)
            from plugins.erp_finance.ledger import rebuild_day_sums

            rebuild_day_sums()  # as posting the cloned entries would have kept them
            db.session.commit()
        self.counts = {k: max(self.counts[k], target[k]) for k in target}

    def _day(self, back: int = 720) -> dt.date:
        return TODAY - dt.timedelta(days=self.rng.randrange(back))

    def _products(self, n, bar):
        pid, qid = self._next_id("inventory_product"), self._next_id("inventory_quant")
        products, quants = [], []
        for i in range(n):
            products.append({**self.seed["inventory_product"], "id": pid + i, "sku": f"BULK-{pid + i}",
                             "name": f"Bulk product {pid + i}", "cost": Decimal(self.rng.randrange(100, 10000)) / 100})
            quants.append({**self.seed["inventory_quant"], "id": qid + i, "product_id": pid + i,
                           "location_id": self.locations["internal"], "quantity": Decimal(self.rng.randrange(1, 500))})
        self._insert("inventory_product", products, bar)
        self._insert("inventory_quant", quants, _Quiet())

    def _deals(self, n, bar):
        first = self._next_id("crm_deal")
        probability = {1: 10, 2: 25, 3: 50, 4: 75, 5: 100, 6: 0}
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, n)):
                stage = self.rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6))
                rows.append({**self.seed["crm_deal"], "id": first + i, "title": f"Deal {first + i}",
                             "account_id": 1 + i % o2c.ACCOUNTS, "amount": Decimal(self.rng.randrange(100, 5_000_000)) / 100,
                             "stage_id": stage, "probability": probability[stage], "lead_id": None,
                             "expected_close": TODAY + dt.timedelta(days=self.rng.randrange(-90, 365)),
                             "won_at": None, "lost_at": None})
            self._insert("crm_deal", rows, bar)

    def _invoices(self, n, bar) -> int:
        """Posted invoices, each with its entry (3 lines) and one due date; returns lines written."""
        inv, inst = self._next_id("finance_invoice"), self._next_id("finance_installment")
        entry, line = self._next_id("finance_entry"), self._next_id("finance_entry_line")
        written = 0
        for start in range(0, n, BATCH // 4):
            invoices, installments, entries, lines = [], [], [], []
            for i in range(start, min(start + BATCH // 4, n)):
                date = self._day(365)
                net = Decimal(self.rng.randrange(1000, 500000)) / 100
                tax = (net * Decimal("0.20")).quantize(Decimal("0.01"))
                paid = net + tax if self.rng.random() < 0.6 else Decimal("0.00")
                customer = self.rng.choice(self.customers)
                entries.append(self._entry(entry + i, 1, date, f"INV/B{inv + i}", net + tax, "invoice"))
                lines += [self._line(line + 3 * i, entry + i, 1, self.receivable, net + tax, 0, customer),
                          self._line(line + 3 * i + 1, entry + i, 2, self.income, 0, net),
                          self._line(line + 3 * i + 2, entry + i, 3, self.tax, 0, tax)]
                invoices.append({**self.seed["finance_invoice"], "id": inv + i, "number": f"INV/B{inv + i}",
                                 "customer_id": customer, "date": date, "due_date": date + dt.timedelta(days=30),
                                 "entry_id": entry + i, "state": "paid" if paid else "posted",
                                 "amount_untaxed": net, "amount_tax": tax, "amount_total": net + tax,
                                 "amount_total_company": net + tax, "amount_paid": paid, "reference": None,
                                 "origin_id": None, "schedule_id": None})
                installments.append({**self.seed["finance_installment"], "id": inst + i, "invoice_id": inv + i,
                                     "due_date": date + dt.timedelta(days=30), "amount": net + tax})
            self._insert("finance_entry", entries, _Quiet())
            self._insert("finance_entry_line", lines, bar)
            self._insert("finance_invoice", invoices, bar)
            self._insert("finance_installment", installments, _Quiet())
            written += len(lines)
        return written

    def _entry(self, entry_id, journal, date, number, total, source):
        return {**self.seed["finance_entry"], "id": entry_id, "journal_id": journal, "date": date, "number": number,
                "ref": None, "total_debit": total, "total_credit": total, "reversal_of_id": None, "source": source,
                "chain_index": None, "prev_hash": None, "hash": f"{entry_id:064x}"}

    def _line(self, line_id, entry_id, sequence, account, debit, credit, customer=None):
        return {**self.seed["finance_entry_line"], "id": line_id, "entry_id": entry_id, "sequence": sequence,
                "account_id": account, "customer_id": customer, "supplier_id": None,
                "debit": Decimal(debit), "credit": Decimal(credit), "amount_currency": Decimal(debit) - Decimal(credit)}

    def _journal(self, n_lines, bar):
        """Expenses paid from the bank: entries of two lines each."""
        entry, line = self._next_id("finance_entry"), self._next_id("finance_entry_line")
        n = n_lines // 2
        for start in range(0, n, BATCH // 2):
            entries, lines = [], []
            for i in range(start, min(start + BATCH // 2, n)):
                amount = Decimal(self.rng.randrange(100, 200000)) / 100
                entries.append(self._entry(entry + i, 5, self._day(), f"MISC/B{entry + i}", amount, "manual"))
                lines += [self._line(line + 2 * i, entry + i, 1, self.rng.choice(self.expense), amount, 0),
                          self._line(line + 2 * i + 1, entry + i, 2, self.bank, 0, amount)]
            self._insert("finance_entry", entries, _Quiet())
            self._insert("finance_entry_line", lines, bar)

    def _moves(self, n, bar):
        first, products = self._next_id("inventory_move"), self._next_id("inventory_product") - 1
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, n)):
                out = self.rng.random() < 0.7
                rows.append({**self.seed["inventory_move"], "id": first + i, "document_id": None,
                             "product_id": 1 + self.rng.randrange(products),
                             "source_location_id": self.locations["internal" if out else "supplier"],
                             "destination_location_id": self.locations["customer" if out else "internal"],
                             "quantity": Decimal(self.rng.randrange(1, 50)), "reference": f"B-{first + i}",
                             "done_at": dt.datetime.combine(self._day(), dt.time(12))})
            self._insert("inventory_move", rows, bar)


class _Quiet:
    def update(self, _n):
        pass


def median_ms(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure(app, path: str, runs: int) -> dict:
    """Median ms of each report and list through the API, and of its floor in plain sqlite3."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token(app)}"}
    floor = sqlite3.connect(path)
    for pragma in ("cache_size=-65536", "mmap_size=1073741824", "temp_store=MEMORY"):  # as the app's engine
        floor.execute(f"PRAGMA {pragma}")
    found = {}
    for group in (REPORTS, LISTS):
        for name, (url, sql) in group.items():
            def get(url=url):
                response = client.get(url, headers=headers)
                assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
            get()  # warm: compiled statement cache, page cache
            floor.execute(sql).fetchall()
            found[name] = (median_ms(get, runs), median_ms(lambda sql=sql: floor.execute(sql).fetchall(), runs))
    floor.close()
    return found


def create_app_on(path: str):
    """An app on a book kept from an earlier run, migrated to the code's schema."""
    from core import create_app
    from core import lifecycle
    from core.db import transaction  # noqa: F811

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context(), transaction():
        lifecycle.upgrade_all()
    return app


def token(app) -> str:
    with app.app_context():
        from core.auth import services as auth
        from core.db import transaction

        with transaction():
            return auth.create_token(auth.user_by_email(o2c.ADMIN), "bench")[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="size of the big book (1.0: 1 M journal lines)")
    parser.add_argument("--keep", help="keep the books in this folder and reuse them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results, counts = {}, {}
        kept = [os.path.join(args.keep, f"book-{scale:g}.sqlite") for scale in (args.scale / 10, args.scale)] \
            if args.keep else []
        if kept and all(os.path.exists(k) for k in kept):
            for k in kept:
                app = create_app_on(k)
                counts = Book(app).counts
                results[counts["journal_lines"]] = measure(app, k, args.runs)
        else:
            path = f"{tmp}/book.sqlite"
            app = o2c.build(f"sqlite:///{path}")
            for n in range(o2c.ACCOUNTS):  # one flow per account: customers, invoices, entries, moves to clone
                o2c.one_flow(app, n)
            book = Book(app)
            for i, scale in enumerate((args.scale / 10, args.scale)):
                t0 = time.perf_counter()
                book.grow_to(scale)
                with app.app_context():
                    db.session.execute(sa.text("ANALYZE"))
                    db.session.commit()
                print(f"book at {book.counts['journal_lines']:,} journal lines built in "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
                if kept:
                    with app.app_context():
                        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
                    os.makedirs(args.keep, exist_ok=True)
                    shutil.copy(path, kept[i])
                results[book.counts["journal_lines"]] = measure(app, path, args.runs)
            counts = book.counts
    small, large = sorted(results)
    print(f"medians of {args.runs} runs; book: {large:,} journal lines, {counts['deals']:,} deals, "
          f"{counts['moves']:,} stock moves, {counts['invoices']:,} invoices (SQLite)")
    print(f"{'':34} {'at ' + format(small, ','):>22} {'at ' + format(large, ','):>22}  {'growth':>7}")
    print(f"{'':34} {'API ms':>10} {'floor ms':>10}  {'API ms':>10} {'floor ms':>10}  {'API':>7}  target")
    for group, target in ((REPORTS, 300), (LISTS, 50)):
        for name in group:
            (a1, f1), (a2, f2) = results[small][name], results[large][name]
            mark = "ok" if a2 < target else "OVER"
            print(f"{name:34} {a1:10.1f} {f1:10.1f}  {a2:10.1f} {f2:10.1f}  {a2 / a1:6.1f}x  < {target} ms {mark}")


if __name__ == "__main__":
    main()
