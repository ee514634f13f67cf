"""Concurrency: several processes against one PostgreSQL (threads on SQLite) spending the
same stock, winning the same deal, paying the same invoice, numbering one journal and
using one customer's credit, at the same moment (a barrier before each collision).

Next to each real path runs a deliberately naive one (read-then-write reservation,
check-then-insert event handling, one commit per plugin step) that the same assertions
catch: proof that these tests can fail.

On SQLite ``SELECT ... FOR UPDATE`` is a plain SELECT: a green multi-process run there
would prove nothing about row locks, so the process variants run on PostgreSQL only
(``TEST_DATABASE_URL``) and SQLite runs the same work in threads, where the kernel's
immediate transactions serialise writers.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from tests.bridge.conftest import Flow, ok
from tests.conftest import ApiClient, dispose, make_app, token_for
from tests.erp_finance.helpers import manual_entry
from tests.reliability.concurrency import Workers, attempt, on_postgresql, writing

D = Decimal
SQLITE_PROVES_NOTHING = (
    "multi-process concurrency needs PostgreSQL (TEST_DATABASE_URL): on SQLite SELECT ... FOR "
    "UPDATE is a plain SELECT and writers are serialised by the file lock, so a green result "
    "here would prove nothing about row locks; the thread variant runs on SQLite instead")
NAIVE_NEEDS_POSTGRESQL = (
    "the naive variants collide on PostgreSQL only: SQLite serialises writers, so a naive "
    "read-then-write there fails with 'database is locked' instead of breaking the rule")
KINDS = ["processes"] if on_postgresql() else ["processes", "threads"]


@pytest.fixture(params=KINDS)
def workers(request, full_db) -> Workers:
    if request.param == "processes" and not on_postgresql():
        pytest.skip(SQLITE_PROVES_NOTHING)
    return Workers(full_db, request.param)


@pytest.fixture
def naive_workers(full_db) -> Workers:
    if not on_postgresql():
        pytest.skip(NAIVE_NEEDS_POSTGRESQL)
    return Workers(full_db, "processes")


@pytest.fixture
def shop(full_db):
    """The app of the test's database, for setting up and checking (closed before workers start)."""
    app = make_app(full_db)
    yield app
    dispose(app)


def _api(app, token) -> ApiClient:
    return ApiClient(app.test_client(), token)


def _read(app, query):
    with app.app_context():
        try:
            return query()
        finally:
            db.session.remove()


def _send_rounds(app, index, meet, token, rounds):
    """Each round, every worker sends its POST of the round at the same moment.

    ``rounds[r][index]`` is the worker's (path, JSON body); a worker past the end of a
    round's list sits it out (None). Answers: (status, code, message) per round.
    """
    api, answers = _api(app, token), []
    for requests in rounds:
        meet()
        if index >= len(requests):
            answers.append(None)
            continue
        path, body = requests[index]
        response = api.post(path, json=body)
        found = response.get_json() or {}
        answers.append((response.status_code, found.get("code"), found.get("message", "")))
    return answers


def _each_round(answers, n: int) -> list:
    """What every worker got in round ``n`` (sitting-out workers left out), sorted."""
    return sorted(worker[n] for worker in answers if worker[n] is not None)


def _win(deal_id: int) -> tuple[str, dict]:
    return f"/api/v1/crm/deals/{deal_id}/win", {}


# --- 1. the last units of a product ---

ROUNDS, UNITS, TAKE = 25, D("10"), D("2")


def _stocked_products(app, count: int) -> tuple[list[int], int]:
    from plugins.erp_inventory import services as inventory

    with app.app_context(), transaction():
        warehouse = inventory.create_warehouse({"code": "RACE", "name": "Race"})
        products = [inventory.create_product({"sku": f"LAST-{i}", "name": f"Last units {i}"})
                    for i in range(count)]
        inventory.validate_document(inventory.create_document({
            "kind": "receipt", "warehouse_id": warehouse.id,
            "lines": [{"product_id": p.id, "quantity": UNITS} for p in products]}))
        return [p.id for p in products], warehouse.id


def _stock_figures(app, product_id, warehouse_id) -> tuple[Decimal, Decimal]:
    from plugins.erp_inventory import services as inventory

    return _read(app, lambda: (inventory.on_hand(product_id, warehouse_id),
                               inventory.reserved(product_id, warehouse_id)))


def _reserve_last_units(app, index, meet, product_ids, warehouse_id):
    """Each round, every worker reserves 2 of the same product's last 10 units at once, then
    reads what is committed: the worst excess of reserved over on hand it ever saw."""
    from plugins.erp_inventory import services as inventory

    outcomes, worst = [], None
    for round_, product_id in enumerate(product_ids):
        meet()
        outcomes.append(attempt(app, inventory.reserve_stock, f"W{index}-R{round_}", product_id, TAKE,
                                warehouse_id))
        on_hand, reserved = _stock_figures(app, product_id, warehouse_id)
        worst = reserved - on_hand if worst is None else max(worst, reserved - on_hand)
    return outcomes, worst


def test_eight_workers_reserving_the_last_ten_units_never_oversell(workers, shop):
    product_ids, warehouse_id = _stocked_products(shop, ROUNDS)
    dispose(shop)
    results = workers.run(_reserve_last_units, 8, product_ids, warehouse_id)  # 8 x 25 = 200 attempts

    per_round = [[outcomes[r] for outcomes, _ in results] for r in range(ROUNDS)]
    assert all(r.count("ok") == 5 and r.count("insufficient_stock") == 3 for r in per_round), per_round
    assert max(worst for _, worst in results) <= 0  # reserved never above on hand, seen from every worker
    for product_id in product_ids:
        assert _stock_figures(shop, product_id, warehouse_id) == (UNITS, UNITS)


def _naive_reserve(app, index, meet, product_id, warehouse_id):
    """Read-then-write without a lock: read what is free, wait until every worker has read,
    then reserve if it looked free."""
    from plugins.erp_inventory import services as inventory
    from plugins.erp_inventory.models import Reservation

    with writing(app) as session:
        free = inventory.available(product_id, warehouse_id)
        meet()
        if free < TAKE:
            return "insufficient_stock"
        session.add(Reservation(reference=f"NAIVE-{index}", product_id=product_id, warehouse_id=warehouse_id,
                                quantity=TAKE, backorder_quantity=D(0), state="active"))
    return "ok"


def test_naive_read_then_write_reservation_oversells(naive_workers, shop):
    (product_id,), warehouse_id = _stocked_products(shop, 1)
    dispose(shop)
    outcomes = naive_workers.run(_naive_reserve, 8, product_id, warehouse_id)

    on_hand, reserved = _stock_figures(shop, product_id, warehouse_id)
    assert outcomes.count("ok") == 8 and reserved == 8 * TAKE > on_hand == UNITS  # the check catches it


# --- 2. the same deal won at once, its event delivered twice ---


def _deals_to_win(app, token, count: int, prefix: str) -> list[int]:
    """Deals of distinct accounts, each with an accepted quote for 3 units of a stocked product."""
    flow = Flow(_api(app, token))
    flow.product(f"{prefix}-SKU", "40.00", 100)
    return [flow.deal(company=f"{prefix} Buyer {i} Ltd", email=f"jo@{prefix.lower()}{i}.example",
                      lines=[{"product_ref": f"{prefix}-SKU", "quantity": "3"}])[0] for i in range(count)]


def _effects(app, deal_id: int) -> tuple[int, int, int]:
    """(orders, reservations, invoices) the deal became."""
    from plugins.bridge.models import SalesOrder
    from plugins.erp_finance.models import Invoice
    from plugins.erp_inventory.models import Reservation

    def count():
        numbers = db.session.scalars(sa.select(SalesOrder.number).where(SalesOrder.deal_id == deal_id)).all()
        reservations = db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)
                                         .where(Reservation.reference.in_(numbers)))
        invoices = db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)
                                     .where(Invoice.reference.in_(numbers)))
        return len(numbers), reservations, invoices
    return _read(app, count)


def _deliver_won_event(app, index, meet, events):
    from core.events import emit

    delivered = []
    for event in events:
        meet()
        with writing(app):
            delivered.append(emit("on_deal_won", event, key=f"deal:{event.deal_id}:won"))
    return delivered


def _won_event(app, deal_id):
    from plugins.crm.hookspecs import DealWon
    from plugins.crm.models import Deal

    def event():
        deal = db.session.get(Deal, deal_id)
        return DealWon(deal_id=deal.id, account_id=deal.account_id, amount=deal.amount,
                       currency=deal.currency, actor_id=None)
    return _read(app, event)


def test_same_deal_won_by_four_workers_and_its_event_delivered_twice_has_one_effect(workers, shop):
    token = token_for(shop)
    won_by_all = _deals_to_win(shop, token, 3, "WIN")
    delivered_twice = _deals_to_win(shop, token, 3, "EVT")
    events = [_won_event(shop, deal_id) for deal_id in delivered_twice]
    dispose(shop)

    answers = workers.run(_send_rounds, 4, token, [[_win(deal_id)] * 4 for deal_id in won_by_all])
    assert all(a[0] == 200 for worker in answers for a in worker), answers  # winning a won deal: no-op
    delivered = workers.run(_deliver_won_event, 2, events)
    assert [sum(1 for worker in delivered if worker[i]) for i in range(len(events))] == [1] * len(events)
    for deal_id in won_by_all + delivered_twice:
        assert _effects(shop, deal_id) == (1, 1, 1), deal_id  # 1 order, 1 reservation set, 1 invoice
    from plugins.erp_inventory.models import Reservation
    assert _read(shop, lambda: db.session.scalar(sa.select(sa.func.sum(Reservation.quantity)))) == D(3 * 6)


def _naive_deliver(app, index, meet, customer_id, reference):
    """Check-then-insert handling of one event: look for the invoice it makes, wait until
    every delivery has looked, then make it if none was found."""
    from plugins.erp_finance import services as finance
    from plugins.erp_finance.models import Invoice

    with writing(app) as session:
        known = session.scalar(sa.select(Invoice.id).where(Invoice.reference == reference))
        meet()
        if known is None:
            finance.create_invoice({"customer_id": customer_id, "reference": reference, "post": True,
                                    "lines": [{"description": "Won deal", "quantity": D(1),
                                               "unit_price": D("120.00")}]})
    return known is None


def test_naive_check_then_insert_event_handling_duplicates(naive_workers, shop):
    from plugins.erp_finance import services as finance
    from plugins.erp_finance.models import Invoice

    with shop.app_context(), transaction():
        customer_id = finance.create_customer({"name": "Twice Ltd", "currency": "EUR"}).id
    dispose(shop)
    naive_workers.run(_naive_deliver, 2, customer_id, "deal:1:won")

    invoices = _read(shop, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)
                                                     .where(Invoice.reference == "deal:1:won")))
    assert invoices == 2  # one event, two invoices: the count above catches it


# --- half-written orders (no concurrency needed: one failing step) ---


def _books_locked_today(app) -> None:
    from plugins.erp_finance import services as finance

    with app.app_context(), transaction():
        finance.update_settings({"lock_date": dt.date.today()})


def test_a_won_deal_whose_invoice_fails_leaves_nothing_behind(shop):
    token = token_for(shop)
    (deal_id,) = _deals_to_win(shop, token, 1, "HALF")
    _books_locked_today(shop)

    refused = _api(shop, token).post(f"/api/v1/crm/deals/{deal_id}/win", json={})
    assert refused.status_code == 409 and "invoice" in refused.get_json()["message"], refused.get_json()
    assert _effects(shop, deal_id) == (0, 0, 0)
    assert ok(_api(shop, token).get(f"/api/v1/crm/deals/{deal_id}"))["status"] == "open"


def _naive_create_order(deal_id: int) -> None:
    """The won-deal hand-off with one commit per plugin step (order, stock, invoice)."""
    from plugins.bridge import deals, services
    from plugins.crm.models import Deal

    deal = db.session.get(Deal, deal_id)
    order = deals._new_order(deal, "on_order", None)
    db.session.commit()
    deals.reserve_and_deliver(order)
    db.session.commit()
    order.customer_id = services.account_customer_id(deal.account_id, True)
    deals.invoice_order(order, None, None)
    db.session.commit()


def test_naive_one_commit_per_step_leaves_a_half_written_order(shop):
    from core.errors import RuleViolation

    token = token_for(shop)
    (deal_id,) = _deals_to_win(shop, token, 1, "NAIVE")
    _books_locked_today(shop)

    with shop.app_context():
        with pytest.raises(RuleViolation, match="locked"):
            _naive_create_order(deal_id)
        db.session.rollback()
    assert _effects(shop, deal_id) == (1, 1, 0)  # an order and its reservation, no invoice: caught


# --- 3. the same invoice paid at once ---


def _posted_invoices(app, amounts: list[str]) -> tuple[int, list[int]]:
    from plugins.erp_finance import services as finance

    with app.app_context(), transaction():
        customer = finance.create_customer({"name": "Payer Ltd", "currency": "EUR"})
        invoices = [finance.create_invoice({"customer_id": customer.id, "post": True, "lines": [
            {"description": "Work", "quantity": D(1), "unit_price": D(amount)}]}) for amount in amounts]
        return customer.id, [i.id for i in invoices]


def test_same_invoice_paid_by_four_workers_is_never_over_allocated(workers, shop):
    from plugins.erp_finance.models import Invoice, Payment

    token = token_for(shop)
    customer_id, invoice_ids = _posted_invoices(shop, ["100.00"] * 6)
    plan = [(i, "100.00") for i in invoice_ids[:3]] + [(i, "40.00") for i in invoice_ids[3:]]
    dispose(shop)
    answers = workers.run(_send_rounds, 4, token, [[("/api/v1/finance/payments", {
        "customer_id": customer_id, "amount": amount,
        "allocations": [{"invoice_id": invoice_id, "amount": amount}]})] * 4 for invoice_id, amount in plan])

    for n, (invoice_id, amount) in enumerate(plan):
        answered = _each_round(answers, n)
        accepted = 1 if amount == "100.00" else 2  # 100 of 100 once; 40 of 100 twice, then 20 is left
        assert [a[0] for a in answered] == [201] * accepted + [409] * (4 - accepted), answered
        assert all(code in ("over_allocation", "invoice_not_open")  # paid in full: no longer open
                   for _, code, _ in answered[accepted:]), answered
        paid, total = _read(shop, lambda: db.session.execute(sa.select(Invoice.amount_paid, Invoice.amount_total)
                                                             .where(Invoice.id == invoice_id)).one())
        assert paid == D(amount) * accepted <= total
    payments = _read(shop, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Payment)
                                                     .where(Payment.customer_id == customer_id)))
    assert payments == 3 * 1 + 3 * 2  # a refused payment leaves no payment (and no entry) behind


# --- 4. one journal numbered from several workers ---


def test_invoices_posted_by_four_workers_in_one_journal_are_numbered_without_gaps(workers, shop):
    from plugins.erp_finance import services as finance
    from plugins.erp_finance.models import Invoice, JournalEntry

    token = token_for(shop)
    with shop.app_context(), transaction():
        customer = finance.create_customer({"name": "Numbers Ltd", "currency": "EUR"})
        drafts = [finance.create_invoice({"customer_id": customer.id, "lines": [
            {"description": "Work", "quantity": D(1), "unit_price": D(10 + i)}]}).id for i in range(43)]
        entry_id = manual_entry(date=dt.date.today(), post=False).id
    dispose(shop)
    posts = [(f"/api/v1/finance/invoices/{i}/post", {}) for i in drafts] + [
        (f"/api/v1/finance/entries/{entry_id}/post", {})]
    rounds = [posts[r * 4:r * 4 + 4] for r in range(10)] + [[post] * 4 for post in posts[40:]]
    answers = workers.run(_send_rounds, 4, token, rounds)  # 10 rounds of 4 drafts, 4 of one draft each

    assert all(a[0] == 200 for worker in answers for a in worker[:10]), answers
    for n in range(10, 14):  # one draft posted by four workers at once: posted once, refused thrice
        assert [a[0] for a in _each_round(answers, n)] == [200, 409, 409, 409], answers
    numbers = _read(shop, lambda: db.session.scalars(sa.select(Invoice.number).where(Invoice.id.in_(drafts))).all())
    prefix = numbers[0].rsplit("/", 1)[0]
    assert all(n.rsplit("/", 1)[0] == prefix for n in numbers)
    assert sorted(int(n.rsplit("/", 1)[1]) for n in numbers) == list(range(1, 44))  # unique, gap-free
    entries = _read(shop, lambda: db.session.execute(sa.select(JournalEntry.source, sa.func.count())
                                                     .group_by(JournalEntry.source)).all())
    assert dict(entries) == {"invoice": 43, "manual": 1}  # each draft posted once
    assert all(check.ok for check in _read(shop, finance.verify_ledger))  # the hash chain never forked


# --- 5. one customer's credit limit, spent from several workers ---

LIMIT, OWED, DEAL = D("1000.00"), D("800.00"), D("30.00")


def test_credit_limit_holds_when_fifty_deals_are_won_at_once(workers, shop):
    from plugins.erp_finance import services as finance

    token = token_for(shop)
    api, flow = _api(shop, token), Flow(_api(shop, token))
    first, account_id = flow.deal(company="Credit Ltd", email="jo@credit.example", amount=str(OWED))
    ok(flow.win(first))
    customer_id = ok(api.get("/api/v1/bridge/links"))[0]["customer_id"]
    ok(api.patch(f"/api/v1/finance/customers/{customer_id}", json={"credit_limit": str(LIMIT)}))
    with writing(shop):
        from plugins.crm import services as crm

        deal_ids = [crm.create_deal({"title": f"Order {i}", "account_id": account_id, "amount": DEAL}).id
                    for i in range(50)]
    dispose(shop)
    rounds = [[_win(d) for d in deal_ids[r * 4:r * 4 + 4]] for r in range(13)]  # 12 rounds of 4, one of 2
    answers = workers.run(_send_rounds, 4, token, rounds)

    outcomes = [a for worker in answers for a in worker if a is not None]
    won = [a for a in outcomes if a[0] == 200]
    refused = [a for a in outcomes if a[0] != 200]
    assert len(outcomes) == 50 and len(won) == int((LIMIT - OWED) // DEAL)  # 6 of 30.00 fit under 200.00
    assert all(status == 409 and code == "deal_blocked" and "credit limit" in message
               for status, code, message in refused), refused
    balance = _read(shop, lambda: finance.customer_status(customer_id).balance)
    assert balance == OWED + DEAL * len(won) <= LIMIT



# --- first wins of one new account ---


def test_first_wins_of_one_new_account_link_it_to_one_customer(workers, shop):
    """Four deals of an account finance does not know yet, won at the same moment: all four
    win, and the account is linked once, to one new customer (no duplicate-key refusal)."""
    from plugins.bridge.models import AccountLink, SalesOrder
    from plugins.erp_finance.models import Customer

    token = token_for(shop)
    api = _api(shop, token)
    account = ok(api.post("/api/v1/crm/accounts", json={"name": "Fresh Start Ltd"}))["id"]
    deals = [ok(api.post("/api/v1/crm/deals", json={"title": f"Fresh deal {i}", "account_id": account,
                                                    "amount": "50.00"}))["id"] for i in range(4)]
    dispose(shop)

    answers = workers.run(_send_rounds, 4, token, [[_win(deal_id) for deal_id in deals]])
    assert _each_round(answers, 0) == [(200, None, "")] * 4, answers
    links, customers, orders = _read(shop, lambda: (
        db.session.scalars(sa.select(AccountLink.customer_id).where(AccountLink.account_id == account)).all(),
        db.session.scalar(sa.select(sa.func.count()).select_from(Customer).where(Customer.name == "Fresh Start Ltd")),
        set(db.session.scalars(sa.select(SalesOrder.customer_id).where(SalesOrder.deal_id.in_(deals))))))
    assert len(links) == 1 and customers == 1 and orders == set(links)


# --- one Idempotency-Key sent by four clients at once ---


def _post_with_key(app, index, meet, token, key):
    api = _api(app, token)
    meet()
    response = api.post("/api/v1/crm/accounts", json={"name": "Retried Ltd"}, headers={"Idempotency-Key": key})
    return response.status_code, (response.get_json() or {}).get("code"), response.headers.get("Idempotent-Replayed")


def test_one_idempotency_key_sent_four_times_at_once_acts_once(workers, shop):
    """The same create sent with one key by four clients at the same moment: one account;
    the others get the stored answer (replayed) or 409 ``idempotency_key_in_progress``."""
    from plugins.crm.models import Account

    token = token_for(shop)
    dispose(shop)
    answers = workers.run(_post_with_key, 4, token, "retry-4-at-once")
    created = [a for a in answers if a[0] == 201 and a[2] is None]
    others = [a for a in answers if a not in created]
    assert len(created) == 1, answers
    assert all(a[0] == 201 and a[2] == "true" or (a[0], a[1]) == (409, "idempotency_key_in_progress")
               for a in others), answers
    count = _read(shop, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Account)
                                                  .where(Account.name == "Retried Ltd")))
    assert count == 1
