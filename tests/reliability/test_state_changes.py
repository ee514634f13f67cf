"""Every state-changing API operation, fired by several clients at once, has the effect
one serial caller would have: the same answers, and the same change to the database.

The operations come from the OpenAPI document (every ``POST``/``DELETE`` on
``.../{id}/<verb>``, and the batch jobs) and from ``core.states.ACTIONS``; each has a
scenario below that builds a fresh record in the state the operation starts from and
says which request to send. For each operation and each number of clients (2 and 8):

- serially: one client sends the request N times, one after the other, on one fresh
  record; the answers (status and code) and the change of the database are recorded;
- at once: N clients (processes on PostgreSQL, each with its own connection) send it at
  the same moment (a barrier), on another fresh record, for several rounds.

Each round must give the serial answers and the serial change. "The change of the
database" is a fingerprint taken before and after: per table, its row count, the sum of
every numeric column, the number of non-null values of every column, and the rows per
state. A delivery validated twice moves stock twice (sums differ), a lead converted twice
makes two accounts (counts differ), a deal won and lost at once has both timestamps (the
non-null counts differ). Pairs of conflicting actions sent at once (win and lose, cancel
and allocate, cancel and validate, accepting two quotes of one deal) must end as one of
the two serial orders does.

On SQLite, writers are serialised by the database (``BEGIN IMMEDIATE``), so the rounds
run in threads there and prove only that nothing fails; the proof is the PostgreSQL run.
"""
from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from tests.conftest import ApiClient, dispose, make_app, token_for
from tests.reliability.concurrency import Workers, on_postgresql

D = Decimal
LEVELS = (2, 8)
ROUNDS = int(os.environ.get("TANDEM_RACE_ROUNDS", "2"))
ACTION_PATH = re.compile(r"^/api/v1/.+/\{[a-z_]+\}/[a-z_-]+(/\{[a-z_]+\})?$|/run$")
#: Operations that change state but are not raced here, each with the reason.
NOT_RACED = {
    "POST /api/v1/admin/modules/{name}/install": "changes the schema (DDL); tests/core/test_lifecycle.py",
    "POST /api/v1/admin/modules/{name}/uninstall": "changes the schema (DDL); tests/core/test_lifecycle.py",
}


@dataclass
class Request:
    path: str
    body: dict | None = None
    method: str = "post"


@dataclass
class Scenario:
    """What one operation's race sends: ``requests(n)`` gives the n requests of a round."""

    key: str
    build: object  # (shop, n) -> list[Request], on a fresh record
    actions: tuple[str, ...] = ()  # the core.states actions it runs ("crm_deal.win")


@dataclass
class Outcome:
    answers: list = field(default_factory=list)
    change: dict = field(default_factory=dict)


# --- the shop the scenarios build their records in ---


class Shop:
    """Builds fresh records through the API (and the services where the API has no way)."""

    def __init__(self, app, api: ApiClient):
        self.app, self.api = app, api
        self.n, self.days = itertools.count(1), itertools.count()
        found = self.ok(api.get("/api/v1/inventory/warehouses"))["items"]
        self.warehouse_id = found[0]["id"] if found else self.post(
            "/api/v1/inventory/warehouses", {"code": "WH", "name": "Main"})["id"]

    def ok(self, response, *statuses):
        assert response.status_code in (statuses or (200, 201)), response.get_data(as_text=True)[:600]
        return response.get_json()

    def post(self, path, body=None):
        return self.ok(self.api.post(path, json=body or {}))

    def product(self, on_hand=50) -> tuple[int, str]:
        sku = f"RACE-{next(self.n)}"
        product = self.post("/api/v1/inventory/products", {"sku": sku, "name": f"Race {sku}",
                                                            "sale_price": "10.00", "type": "stockable"})
        if on_hand:
            doc = self.post("/api/v1/inventory/documents", {
                "kind": "adjustment", "warehouse_id": self.warehouse_id,
                "lines": [{"product_id": product["id"], "quantity": str(on_hand)}]})
            self.post(f"/api/v1/inventory/documents/{doc['id']}/validate")
        return product["id"], sku

    def lead(self) -> int:
        i = next(self.n)
        return self.post("/api/v1/crm/leads", {"name": f"Buyer {i}", "company": f"Race Co {i}",
                                               "email": f"buyer{i}@race{i}.example"})["id"]

    def deal(self, units=3, on_hand=50, accept=True, sku=None) -> int:
        lead = self.post(f"/api/v1/crm/leads/{self.lead()}/convert", {"create_deal": True, "amount": "0.00"})
        sku = sku or self.product(on_hand)[1]
        quote = self.quote(lead["deal_id"], sku, units)
        if accept:
            self.post(f"/api/v1/crm/quotes/{quote}/accept")
        return lead["deal_id"]

    def quote(self, deal_id, sku, units=3, price="10.00") -> int:
        return self.post("/api/v1/crm/quotes", {"deal_id": deal_id, "lines": [
            {"description": sku, "product_ref": sku, "quantity": str(units), "unit_price": price}]})["id"]

    def won_delivery(self) -> int:
        """The ready delivery of a deal just won (invoiced on delivery)."""
        deal = self.deal()
        self.post(f"/api/v1/crm/deals/{deal}/win")
        return self.scalar(f"SELECT id FROM inventory_document WHERE reference = 'SO-{deal:05d}' "
                           "AND kind = 'delivery' AND state = 'ready'")

    def delivery(self, state="ready") -> int:
        product, _ = self.product()
        doc = self.post("/api/v1/inventory/documents", {
            "kind": "delivery", "warehouse_id": self.warehouse_id,
            "lines": [{"product_id": product, "quantity": "5"}]})
        if state == "ready":
            self.post(f"/api/v1/inventory/documents/{doc['id']}/confirm")
        return doc["id"]

    def purchase_order(self, state="draft") -> int:
        supplier = self.post("/api/v1/inventory/suppliers", {"name": f"Supplier {next(self.n)}"})["id"]
        product, _ = self.product(0)
        order = self.post("/api/v1/inventory/purchase_orders", {
            "supplier_id": supplier, "warehouse_id": self.warehouse_id,
            "lines": [{"product_id": product, "quantity": "5", "unit_price": "4.00"}]})
        if state == "confirmed":
            self.post(f"/api/v1/inventory/purchase_orders/{order['id']}/confirm")
        return order["id"]

    def party(self, side="invoices") -> int:
        kind = "customers" if side == "invoices" else "suppliers"
        return self.post(f"/api/v1/finance/{kind}", {"name": f"Party {next(self.n)}", "currency": "EUR"})["id"]

    def invoice(self, party, side="invoices", post=True, amount="100.00") -> int:
        key = "customer_id" if side == "invoices" else "supplier_id"
        return self.post(f"/api/v1/finance/{side}", {
            key: party, "date": dt.date.today().isoformat(), "post": post,
            "lines": [{"description": "Work", "quantity": "1", "unit_price": amount}]})["id"]

    def payment(self, party, amount="100.00", side="invoices", allocations=()) -> int:
        key = "customer_id" if side == "invoices" else "supplier_id"
        return self.post("/api/v1/finance/payments", {
            key: party, "amount": amount,
            "allocations": [{"invoice_id": i, "amount": a} for i, a in allocations]})["id"]

    def credit_left(self, side="invoices") -> tuple[int, int]:
        """A credit note with all of its 100.00 left (its invoice was paid), and an open invoice."""
        party = self.party(side)
        paid = self.invoice(party, side)
        self.payment(party, "100.00", side, [(paid, "100.00")])
        note = self.post(f"/api/v1/finance/{side}/{paid}/credit-notes", {"reason": "goodwill"})["id"]
        return note, self.invoice(party, side)

    def entry(self, post=False) -> int:
        with self.app.app_context():
            from tests.erp_finance.helpers import account
            from plugins.erp_finance.services import get_settings

            journal, expense, bank = get_settings().misc_journal_id, account("6200").id, account("1000").id
            db.session.remove()
        return self.post("/api/v1/finance/entries", {
            "journal_id": journal, "date": dt.date.today().isoformat(), "ref": "Race", "post": post,
            "lines": [{"account_id": expense, "debit": "50.00"}, {"account_id": bank, "credit": "50.00"}]})["id"]

    def case(self) -> int:
        return self.post("/api/v1/crm/cases", {"subject": f"Case {next(self.n)}"})["id"]

    def credit_case(self) -> tuple[int, int, int]:
        """(case, invoice, account): an open case of an account whose customer has a posted
        invoice of 100.00."""
        account = self.post("/api/v1/crm/accounts", {"name": f"Credit Co {next(self.n)}"})["id"]
        customer = self.post("/api/v1/bridge/links", {"account_id": account})["customer_id"]
        invoice = self.invoice(customer)
        return self.post("/api/v1/crm/cases", {"subject": "Damaged", "account_id": account})["id"], invoice, account

    def pair(self, kind) -> tuple[int, int]:
        if kind == "contacts":
            made = [self.post("/api/v1/crm/contacts", {"name": f"Contact {next(self.n)}"})["id"] for _ in "ab"]
        else:
            made = [self.post("/api/v1/crm/accounts", {"name": f"Account {next(self.n)}"})["id"] for _ in "ab"]
        return made[0], made[1]

    def handoff_failure(self) -> int:
        """A failed hand-off that goes through when retried (its invoice is not an order's)."""
        with self.app.app_context(), transaction():
            from plugins.bridge.models import HandoffFailure

            failure = HandoffFailure(event="on_invoice_paid", event_type="plugins.erp_finance.hookspecs:InvoicePaid",
                                     payload={"invoice_id": 10 ** 6 + next(self.n), "number": "X", "customer_id": 1,
                                              "amount_total": "1.00", "currency": "EUR", "paid_on": "2026-01-01",
                                              "actor_id": None}, reason="planted")
            db.session.add(failure)
            db.session.flush()
            return failure.id

    def link(self) -> int:
        deal = self.deal()
        self.post(f"/api/v1/crm/deals/{deal}/win")
        account = self.scalar(f"SELECT account_id FROM crm_deal WHERE id = {deal}")
        return self.scalar(f"SELECT id FROM bridge_account_link WHERE account_id = {account}")

    def stage(self, deal_id, position=1) -> int:
        return self.scalar("SELECT s.id FROM crm_stage s JOIN crm_deal d ON d.pipeline_id = s.pipeline_id "
                           f"WHERE d.id = {deal_id} ORDER BY s.position LIMIT 1 OFFSET {position}")

    def schedule(self) -> str:
        """A monthly schedule whose first period starts a day after the last one made: a run
        on that day bills this one alone (the earlier ones are billed, their next period
        a month away). Returns the day."""
        start = (dt.date.today() - dt.timedelta(days=60) + dt.timedelta(days=next(self.days))).isoformat()
        self.post("/api/v1/finance/schedules", {
            "name": f"Plan {start}", "customer_id": self.party(), "period": "monthly", "start_date": start,
            "lines": [{"description": "Plan", "quantity": "1", "unit_price": "20.00"}]})
        return start

    def scalar(self, sql):
        with self.app.app_context():
            try:
                return db.session.scalar(sa.text(sql))
            finally:
                db.session.remove()


def same(request: Request):
    """A scenario whose n requests are one request, sent n times."""
    return lambda n: [request] * n


# --- one scenario per operation ---

API = "/api/v1"


def _quote_in(shop, state):
    deal = shop.deal(accept=False)
    quote = shop.scalar(f"SELECT id FROM crm_quote WHERE deal_id = {deal}")
    if state == "sent":
        shop.post(f"{API}/crm/quotes/{quote}/send")
    return quote


def _quote_scenarios():
    """send a draft; accept, reject and revise a sent quote."""
    return [Scenario(f"POST {API}/crm/quotes/{{record_id}}/{{action}} {verb}",
                     lambda shop, n, verb=verb, state=state: same(Request(
                         f"{API}/crm/quotes/{_quote_in(shop, state)}/{verb}"))(n), (f"crm_quote.{verb}",))
            for verb, state in (("send", "draft"), ("accept", "sent"), ("reject", "sent"), ("revise", "sent"))]


def _shortage_wins(shop, n):
    """n deals of 3 units each on one product with 2n units: the last wins get backorders."""
    product, sku = shop.product(on_hand=2 * n)
    return [Request(f"{API}/crm/deals/{shop.deal(sku=sku)}/win") for _ in range(n)]


def _auto_allocated(shop, n):
    party = shop.party()
    shop.invoice(party, amount="50.00")
    shop.invoice(party, amount="50.00")
    return [Request(f"{API}/finance/payments", {"customer_id": party, "amount": "60.00", "auto_allocate": True})] * n


def _finance_scenarios():
    found = []
    for side in ("invoices", "bills"):
        found += [
            Scenario(f"POST {API}/finance/{side}/{{invoice_id}}/post",
                     lambda shop, n, side=side: same(Request(
                         f"{API}/finance/{side}/{shop.invoice(shop.party(side), side, post=False)}/post"))(n),
                     ("finance_invoice.post",)),
            Scenario(f"POST {API}/finance/{side}/{{invoice_id}}/cancel",
                     lambda shop, n, side=side: same(Request(
                         f"{API}/finance/{side}/{shop.invoice(shop.party(side), side, post=False)}/cancel"))(n),
                     ("finance_invoice.cancel",)),
            Scenario(f"POST {API}/finance/{side}/{{invoice_id}}/credit-notes",
                     lambda shop, n, side=side: same(Request(
                         f"{API}/finance/{side}/{shop.invoice(shop.party(side), side)}/credit-notes",
                         {"lines": [{"description": "Part", "quantity": "1", "unit_price": "30.00"}]}))(n),
                     ("finance_invoice.credit",)),
            Scenario(f"POST {API}/finance/{side}/{{invoice_id}}/apply",
                     lambda shop, n, side=side: (lambda note_open: same(Request(
                         f"{API}/finance/{side}/{note_open[0]}/apply",
                         {"invoice_id": note_open[1], "amount": "30.00"}))(n))(shop.credit_left(side)),
                     ("finance_invoice.apply",)),
        ]
    return found


def _allocation(shop):
    party = shop.party()
    invoice = shop.invoice(party)
    return shop.payment(party, "100.00"), invoice


SCENARIOS = [
    Scenario(f"POST {API}/crm/leads/{{record_id}}/convert",
             lambda shop, n: same(Request(f"{API}/crm/leads/{shop.lead()}/convert", {"create_deal": True}))(n),
             ("crm_lead.convert",)),
    Scenario(f"POST {API}/crm/deals/{{record_id}}/win",
             lambda shop, n: same(Request(f"{API}/crm/deals/{shop.deal()}/win"))(n), ("crm_deal.win",)),
    Scenario("win the last units (shortage: backorder)", _shortage_wins, ("crm_deal.win",)),
    Scenario(f"POST {API}/crm/deals/{{record_id}}/lose",
             lambda shop, n: same(Request(f"{API}/crm/deals/{shop.deal()}/lose", {"reason": "price"}))(n),
             ("crm_deal.lose",)),
    Scenario(f"POST {API}/crm/deals/{{record_id}}/move",
             lambda shop, n: (lambda deal: same(Request(f"{API}/crm/deals/{deal}/move",
                                                        {"stage_id": shop.stage(deal, 2)}))(n))(shop.deal()),
             ("crm_deal.move",)),
    *_quote_scenarios(),
    Scenario(f"POST {API}/crm/cases/{{record_id}}/resolve",
             lambda shop, n: same(Request(f"{API}/crm/cases/{shop.case()}/resolve", {"resolution": "Fixed"}))(n),
             ("crm_case.resolve",)),
    Scenario(f"POST {API}/bridge/cases/{{case_id}}/resolve",
             lambda shop, n: (lambda c: same(_resolve_with_credit(c[0], c[1], "40.00"))(n))(shop.credit_case()),
             ("crm_case.resolve", "finance_invoice.credit")),
    Scenario(f"POST {API}/crm/contacts/{{record_id}}/merge",
             lambda shop, n: (lambda ab: same(Request(f"{API}/crm/contacts/{ab[0]}/merge",
                                                      {"other_id": ab[1]}))(n))(shop.pair("contacts"))),
    Scenario(f"POST {API}/crm/accounts/{{record_id}}/merge",
             lambda shop, n: (lambda ab: same(Request(f"{API}/crm/accounts/{ab[0]}/merge",
                                                      {"other_id": ab[1]}))(n))(shop.pair("accounts"))),
    Scenario(f"POST {API}/crm/automation/run", lambda shop, n: same(Request(f"{API}/crm/automation/run"))(n)),
    Scenario(f"POST {API}/bridge/deals/{{deal_id}}/contract",
             lambda shop, n: same(Request(f"{API}/bridge/deals/{shop.deal()}/contract",
                                          {"period": "monthly", "term_months": 12}))(n)),
    Scenario(f"POST {API}/bridge/handoffs/{{failure_id}}/retry",
             lambda shop, n: same(Request(f"{API}/bridge/handoffs/{shop.handoff_failure()}/retry"))(n)),
    Scenario(f"POST {API}/bridge/links/{{link_id}}/sync",
             lambda shop, n: same(Request(f"{API}/bridge/links/{shop.link()}/sync", {}))(n)),
    *_finance_scenarios(),
    Scenario(f"POST {API}/finance/payments/{{payment_id}}/allocate",
             lambda shop, n: (lambda pi: same(Request(f"{API}/finance/payments/{pi[0]}/allocate",
                                                      {"invoice_id": pi[1], "amount": "30.00"}))(n))(_allocation(shop)),
             ("finance_payment.allocate",)),
    Scenario(f"POST {API}/finance/payments/{{payment_id}}/cancel",
             lambda shop, n: (lambda pi: same(Request(f"{API}/finance/payments/{pi[0]}/cancel", {}))(n))(
                 _allocation(shop)), ("finance_payment.cancel",)),
    Scenario("register payments allocated automatically", _auto_allocated),
    Scenario(f"POST {API}/finance/entries/{{entry_id}}/post",
             lambda shop, n: same(Request(f"{API}/finance/entries/{shop.entry()}/post"))(n),
             ("finance_entry.post",)),
    Scenario(f"POST {API}/finance/entries/{{entry_id}}/reverse",
             lambda shop, n: same(Request(f"{API}/finance/entries/{shop.entry(post=True)}/reverse", {}))(n),
             ("finance_entry.reverse",)),
    Scenario(f"POST {API}/finance/schedules/run",
             lambda shop, n: same(Request(f"{API}/finance/schedules/run", {"date": shop.schedule()}))(n)),
    Scenario(f"POST {API}/inventory/documents/{{record_id}}/confirm",
             lambda shop, n: same(Request(f"{API}/inventory/documents/{shop.delivery('draft')}/confirm"))(n),
             ("inventory_document.confirm",)),
    Scenario(f"POST {API}/inventory/documents/{{record_id}}/validate",
             lambda shop, n: same(Request(f"{API}/inventory/documents/{shop.delivery()}/validate", {}))(n),
             ("inventory_document.validate",)),
    Scenario("validate a won order's delivery",
             lambda shop, n: same(Request(f"{API}/inventory/documents/{shop.won_delivery()}/validate", {}))(n),
             ("inventory_document.validate",)),
    Scenario(f"POST {API}/inventory/documents/{{record_id}}/cancel",
             lambda shop, n: same(Request(f"{API}/inventory/documents/{shop.delivery()}/cancel"))(n),
             ("inventory_document.cancel",)),
    Scenario(f"POST {API}/inventory/documents/{{record_id}}/lines",
             lambda shop, n: same(Request(f"{API}/inventory/documents/{shop.delivery('draft')}/lines",
                                          {"product_id": shop.product()[0], "quantity": "1"}))(n)),
    Scenario(f"DELETE {API}/inventory/documents/{{record_id}}/lines/{{line_id}}",
             lambda shop, n: (lambda doc: same(Request(
                 f"{API}/inventory/documents/{doc}/lines/"
                 f"{shop.scalar(f'SELECT id FROM inventory_document_line WHERE document_id = {doc}')}",
                 method="delete"))(n))(shop.delivery("draft"))),
    Scenario(f"POST {API}/inventory/purchase_orders/{{record_id}}/confirm",
             lambda shop, n: same(Request(f"{API}/inventory/purchase_orders/{shop.purchase_order()}/confirm"))(n),
             ("inventory_purchase_order.confirm",)),
    Scenario(f"POST {API}/inventory/purchase_orders/{{record_id}}/receive",
             lambda shop, n: same(Request(
                 f"{API}/inventory/purchase_orders/{shop.purchase_order('confirmed')}/receive", {}))(n),
             ("inventory_purchase_order.receive",)),
    Scenario(f"POST {API}/inventory/purchase_orders/{{record_id}}/cancel",
             lambda shop, n: same(Request(
                 f"{API}/inventory/purchase_orders/{shop.purchase_order('confirmed')}/cancel"))(n),
             ("inventory_purchase_order.cancel",)),
    Scenario(f"POST {API}/inventory/purchase_orders/{{record_id}}/lines",
             lambda shop, n: same(Request(f"{API}/inventory/purchase_orders/{shop.purchase_order()}/lines",
                                          {"product_id": shop.product(0)[0], "quantity": "2"}))(n)),
]


def _resolve_with_credit(case: int, invoice: int, amount: str) -> Request:
    return Request(f"{API}/bridge/cases/{case}/resolve", {"resolution": "Refund agreed", "credit": {
        "invoice_id": invoice, "mode": "amount", "amount": amount, "reason": "Damaged"}})


def _two_cases_credit_one_invoice(shop):
    """Two cases of one account, each crediting all that is left of its invoice."""
    case, invoice, account = shop.credit_case()
    other = shop.post("/api/v1/crm/cases", {"subject": "Damaged too", "account_id": account})["id"]
    return _resolve_with_credit(case, invoice, "100.00"), _resolve_with_credit(other, invoice, "100.00")


def _win_lose(shop):
    deal = shop.deal()
    return Request(f"{API}/crm/deals/{deal}/win"), Request(f"{API}/crm/deals/{deal}/lose", {"reason": "price"})


def _cancel_allocate(shop):
    payment, invoice = _allocation(shop)
    return (Request(f"{API}/finance/payments/{payment}/cancel", {}),
            Request(f"{API}/finance/payments/{payment}/allocate", {"invoice_id": invoice, "amount": "60.00"}))


def _cancel_validate(shop):
    doc = shop.delivery()
    return Request(f"{API}/inventory/documents/{doc}/cancel"), Request(f"{API}/inventory/documents/{doc}/validate", {})


def _accept_two_quotes(shop):
    deal = shop.deal(accept=False, units=1)
    _, sku = shop.product()
    other = shop.quote(deal, sku, units=2)
    first = shop.scalar(f"SELECT min(id) FROM crm_quote WHERE deal_id = {deal}")
    return Request(f"{API}/crm/quotes/{first}/accept"), Request(f"{API}/crm/quotes/{other}/accept")


PAIRS = {"win / lose": _win_lose, "cancel payment / allocate it": _cancel_allocate,
         "two cases credit the rest of one invoice": _two_cases_credit_one_invoice,
         "cancel delivery / validate it": _cancel_validate, "accept two quotes of one deal": _accept_two_quotes}


# --- the fingerprint of the database ---


def fingerprint(app) -> Counter:
    """Per table: rows, sums of numeric columns, non-null values per column, rows per state."""
    found = Counter()
    with app.app_context():
        try:
            existing = set(sa.inspect(db.engine).get_table_names())
            for table in db.metadata.sorted_tables:
                if table.name not in existing:
                    continue
                parts = [sa.func.count().label("rows")]
                for column in table.columns:
                    if column.primary_key:
                        continue
                    parts.append(sa.func.count(column).label(f"{column.name}:set"))
                    if isinstance(column.type, sa.Numeric) and not isinstance(column.type, sa.Float):
                        parts.append(sa.func.coalesce(sa.func.sum(column), 0).label(f"{column.name}:sum"))
                row = db.session.execute(sa.select(*parts).select_from(table)).one()._mapping
                found.update({f"{table.name}.{k}": D(str(v)) for k, v in row.items() if v})
                for name in ("state", "status"):
                    if name in table.columns:
                        for value, count in db.session.execute(
                                sa.select(table.c[name], sa.func.count()).group_by(table.c[name])).all():
                            found[f"{table.name}.{name}={value}"] = D(count)
        finally:
            db.session.remove()
    return found


def change(before: Counter, after: Counter) -> dict:
    """What a round changed: every figure that moved, and by how much."""
    keys = set(before) | set(after)
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(keys) if after.get(k, 0) != before.get(k, 0)
            and not k.endswith((".updated_at:set", ".last_used_at:set"))}


# --- playing rounds in the workers ---


def _send(api: ApiClient, request: Request):
    """(status, code, state) of the answer; an exception that escaped the app is a 500 named
    by its type (the test client raises it), compared like any other answer."""
    try:
        response = getattr(api, request.method)(request.path, **({"json": request.body}
                                                                 if request.method != "delete" else {}))
    except Exception as exc:  # noqa: BLE001 - reported as the answer it would have been
        return 500, type(exc).__name__, None
    body = response.get_json(silent=True) or {}
    return response.status_code, body.get("code"), body.get("state")


def _play(app, index, meet, token, rounds):
    """Each round: worker 0 reads the fingerprint, everyone sends its requests at once,
    worker 0 reads the fingerprint again. ``rounds[r][index]``: this worker's requests."""
    api, played = ApiClient(app.test_client(), token), []
    for requests in rounds:
        meet()
        before = fingerprint(app) if index == 0 else None
        meet()
        mine = requests[index] if index < len(requests) else []
        answers = [_send(api, r) for r in mine]
        meet()
        played.append((answers, change(before, fingerprint(app)) if index == 0 else None))
    return played


def _rounds_outcomes(played, count) -> list[Outcome]:
    outcomes = []
    for r in range(count):
        answers = sorted(a for worker in played for a in worker[r][0])
        outcomes.append(Outcome([a[:2] for a in answers], played[0][r][1]))
    return outcomes


@pytest.fixture
def race_workers(full_db):
    return Workers(full_db, "processes" if on_postgresql() else "threads")


def _shop(url):
    app = make_app(url)
    token = token_for(app)
    return app, token, Shop(app, ApiClient(app.test_client(), token))


def _difference(serial: Outcome, raced: Outcome) -> str | None:
    if serial.answers != raced.answers:
        return f"answers {raced.answers}, serially {serial.answers}"
    if serial.change != raced.change:
        keys = sorted(set(serial.change) | set(raced.change))
        moved = [f"{k}: {raced.change.get(k, 0)} (serially {serial.change.get(k, 0)})"
                 for k in keys if serial.change.get(k) != raced.change.get(k)]
        return "database " + "; ".join(moved[:8])
    return None


def test_every_state_change_raced_by_2_and_8_clients_has_the_serial_effect(full_db, race_workers):
    app, token, shop = _shop(full_db)
    plan, labels = [], []  # rounds in play order; what each is
    try:
        for scenario in SCENARIOS:
            for n in LEVELS:
                plan.append([scenario.build(shop, n)])  # serial: worker 0 sends all n
                labels.append((scenario.key, n, "serial"))
                for _ in range(ROUNDS):
                    plan.append([[r] for r in scenario.build(shop, n)])
                    labels.append((scenario.key, n, "raced"))
        for name, build in PAIRS.items():
            first, second = build(shop)
            plan.append([[first, second]]), labels.append((name, 2, "serial ab"))
            first, second = build(shop)
            plan.append([[second, first]]), labels.append((name, 2, "serial ba"))
            for _ in range(ROUNDS + 1):
                first, second = build(shop)
                plan.append([[first], [second]]), labels.append((name, 2, "raced"))
    finally:
        dispose(app)
    played = race_workers.run(_play, max(LEVELS), token, plan)
    outcomes = _rounds_outcomes(played, len(plan))
    problems, serial, figures = [], {}, Counter()
    for (key, n, kind), outcome in zip(labels, outcomes):
        if kind.startswith("serial"):
            serial.setdefault((key, n), []).append(outcome)
            continue
        figures["rounds"] += 1
        figures["requests"] += len(outcome.answers)
        found = [_difference(s, outcome) for s in serial[(key, n)]]
        if all(found):
            problems.append(f"{key} x{n}: {found[0]}")
    print(f"\nraced {len(SCENARIOS)} operations and {len(PAIRS)} conflicting pairs: {figures['rounds']} rounds, "
          f"{figures['requests']} requests, {len(problems)} rounds with another effect than a serial run")
    assert not problems, "\n".join(problems)


def _action_ops(app) -> set[str]:
    doc = app.test_client().get("/api/openapi.json").get_json()
    found = set()
    for path, operations in doc["paths"].items():
        for method in ("post", "delete"):
            if method in operations and ACTION_PATH.search(path):
                if path.endswith("{action}"):
                    found |= {f"POST {path} {verb}" for verb in ("send", "accept", "reject", "revise")}
                else:
                    found.add(f"{method.upper()} {path}")
    return found


def test_every_state_changing_operation_and_action_has_a_race_scenario(app):
    from core.states import ACTIONS

    raced = {s.key for s in SCENARIOS}
    missing = _action_ops(app) - raced - set(NOT_RACED)
    assert not missing, f"operations without a race scenario in this file: {sorted(missing)}"
    declared = {f"{a.model.__tablename__}.{a.name}" for a in ACTIONS}
    covered = {action for s in SCENARIOS for action in s.actions}
    assert declared - covered == set(), f"actions no scenario runs: {sorted(declared - covered)}"
    assert covered <= declared, f"scenarios name undeclared actions: {sorted(covered - declared)}"
