"""The quote-to-cash story through the JSON API only, with all four modules installed."""
from __future__ import annotations

import datetime as dt

from tests.bridge.conftest import ok
from tests.conftest import ApiClient, create_user, csrf_from, token_for
from tests.conformance import check_plugin


def test_conformance(app):
    check_plugin(app, "bridge")


def test_lead_to_cash_end_to_end(api, flow):
    a = flow.product("BR-A", "100.00", 10)
    b = flow.product("BR-B", "50.00", 10)
    deal_id, account_id = flow.deal(lines=[{"product_ref": "BR-A", "quantity": "2"},
                                           {"product_ref": "BR-B", "quantity": "3"}])
    ok(flow.win(deal_id))

    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert order["amount"] == "350.00" and order["delivery_state"] == "waiting"
    assert [i["state"] for i in order["invoices"]] == ["posted"]
    for product in (a, b):
        reservations = ok(api.get(f"/api/v1/inventory/products/{product['id']}"))
        assert reservations["id"] == product["id"]
    docs = ok(api.get("/api/v1/inventory/documents", query_string={"q": order["number"]}))
    delivery = next(d for d in docs["items"] if d["reference"] == order["number"])
    assert delivery["state"] == "ready"

    ok(api.post(f"/api/v1/inventory/documents/{delivery['id']}/validate", json={}))
    invoice = order["invoices"][0]
    customer_id = ok(api.get("/api/v1/bridge/links"))[0]["customer_id"]
    ok(api.post("/api/v1/finance/payments", json={
        "customer_id": customer_id, "amount": invoice["amount"],
        "allocations": [{"invoice_id": invoice["invoice_id"], "amount": invoice["amount"]}]}))

    status = ok(api.get(f"/api/v1/bridge/accounts/{account_id}/status"))
    assert status["financial"]["balance"] == "0.00" and status["financial"]["open_invoices"] == 0
    assert status["orders"][0]["delivery_state"] == "delivered"
    assert status["orders"][0]["invoice_state"] == "paid"
    timeline = ok(api.get("/api/v1/crm/activities", query_string={"deal_id": deal_id, "per_page": 50}))
    subjects = [a["subject"] for a in timeline["items"]]
    assert f"Invoice {invoice['number']} paid in full" in subjects
    assert any(s.startswith("Delivery ") for s in subjects)


def test_rewin_and_double_delivery_create_nothing_more(app, api, flow):
    deal_id, _ = flow.deal(amount="500.00")
    ok(flow.win(deal_id))
    ok(flow.win(deal_id))
    from core.db import db
    from core.events import emit
    from plugins.bridge.models import OrderInvoice, SalesOrder
    from plugins.crm.hookspecs import DealWon
    from decimal import Decimal

    with app.test_request_context(), app.app_context():
        assert emit("on_deal_won", DealWon(deal_id, None, Decimal("500.00"), "EUR", None),
                    key=f"deal:{deal_id}:won") is False
        from plugins.bridge.deals import create_order

        create_order(deal_id)  # delivered again by hand: the existing order is returned
        assert db.session.query(SalesOrder).filter_by(deal_id=deal_id).count() == 1
        assert db.session.query(OrderInvoice).count() == 1
        db.session.rollback()


def test_credit_limit_blocks_and_override_wins(app, api, flow):
    first, account_id = flow.deal(amount="800.00")
    ok(flow.win(first))
    link = ok(api.get("/api/v1/bridge/links"))[0]
    financial = ok(api.get(f"/api/v1/bridge/accounts/{account_id}/status"))["financial"]
    assert financial["available_credit"] is None and financial["over_limit"] is False  # 0: no limit set
    ok(api.patch(f"/api/v1/finance/customers/{link['customer_id']}", json={"credit_limit": "1000.00"}))
    second = ok(api.post("/api/v1/crm/deals", json={"title": "More tools", "account_id": account_id,
                                                    "amount": "300.00"}))["id"]
    refused = flow.win(second)
    assert refused.status_code == 409
    assert "credit limit" in refused.get_json()["message"]
    # CRM's own override does not cover the bridge's credit check: that takes bridge.override
    create_user(app, "manager@example.com", ["Sales manager"])
    manager = ApiClient(app.test_client(), token_for(app, "manager@example.com"))
    with app.app_context():
        from core.auth.services import user_by_email

        manager_id = user_by_email("manager@example.com").id
    ok(api.patch(f"/api/v1/crm/deals/{second}", json={"owner_id": manager_id}))
    refused = manager.post(f"/api/v1/crm/deals/{second}/win", json={"override_reason": "I say so"})
    assert refused.status_code == 409 and refused.get_json()["details"]["can_override"] is False
    assert refused.get_json()["details"]["problems"][0]["override_permission"] == "bridge.override"
    won = ok(flow.win(second, override_reason="CFO approved"))
    assert won["status"] == "won"
    order = ok(api.get(f"/api/v1/bridge/deals/{second}/status"))
    assert order["amount"] == "300.00"


def test_shortage_warns_or_blocks_per_setting(api, flow):
    flow.product("BR-S", "10.00", 1)
    deal_id, _ = flow.deal(company="Short Co", email="a@short.example",
                           lines=[{"product_ref": "BR-S", "quantity": "4"}])
    problems = ok(api.get(f"/api/v1/crm/deals/{deal_id}/problems"))
    assert [(p["code"], p["blocking"]) for p in problems] == [("stock_shortage", False)]
    ok(api.patch("/api/v1/bridge/settings", json={"shortage_blocking": True}))
    assert flow.win(deal_id).status_code == 409
    ok(api.patch("/api/v1/bridge/settings", json={"shortage_blocking": False}))
    ok(flow.win(deal_id))
    order = ok(api.get("/api/v1/bridge/orders"))[0]
    assert order["lines"][0]["reserved"] == "1.000" and order["lines"][0]["backordered"] == "3.000"


def test_invoice_on_delivery(api, flow):
    flow.product("BR-D", "30.00", 5)
    ok(api.patch("/api/v1/bridge/settings", json={"invoice_policy": "on_delivery"}))
    deal_id, _ = flow.deal(company="Later Co", email="a@later.example",
                           lines=[{"product_ref": "BR-D", "quantity": "2"}])
    ok(flow.win(deal_id))
    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert order["invoices"] == []
    docs = ok(api.get("/api/v1/inventory/documents", query_string={"q": order["number"]}))["items"]
    ok(api.post(f"/api/v1/inventory/documents/{docs[0]['id']}/validate", json={}))
    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert [(i["state"], i["amount"]) for i in order["invoices"]] == [("posted", "60.00")]
    assert ok(api.get("/api/v1/bridge/reconcile")) == []


def test_sync_conflict_is_shown_not_overwritten(app, api, flow):
    deal_id, account_id = flow.deal(company="Sync Co", email="a@sync.example", amount="10.00")
    link = ok(api.post("/api/v1/bridge/links", json={"account_id": account_id, "tax_id": "de123"}))
    customer = f"/api/v1/finance/customers/{link['customer_id']}"
    assert ok(api.get(customer))["tax_id"] == "DE123"
    ok(api.patch(f"/api/v1/crm/accounts/{account_id}", json={"address": "1 CRM Road"}))
    assert ok(api.get(customer))["billing_address"] == "1 CRM Road"  # flowed from CRM
    ok(api.patch(customer, json={"name": "Sync Company GmbH"}))
    ok(api.patch(f"/api/v1/crm/accounts/{account_id}", json={"name": "Sync Corp"}))
    conflicts = ok(api.get(f"/api/v1/bridge/links/{link['id']}/sync"))["conflicts"]
    assert [(c["field"], c["crm"], c["finance"]) for c in conflicts] == [("name", "Sync Corp", "Sync Company GmbH")]
    assert ok(api.get(customer))["name"] == "Sync Company GmbH"
    left = ok(api.post(f"/api/v1/bridge/links/{link['id']}/sync", json={"resolve": {"name": "finance"}}))
    assert left["conflicts"] == []
    assert ok(api.get(f"/api/v1/crm/accounts/{account_id}"))["name"] == "Sync Company GmbH"


def test_recurring_deal_gets_a_schedule_and_a_renewal(app, api, flow):
    deal_id, account_id = flow.deal(company="Renew Co", email="a@renew.example", amount="99.00")
    ok(api.post(f"/api/v1/bridge/deals/{deal_id}/contract", json={"period": "monthly", "term_months": 1}))
    ok(flow.win(deal_id))
    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert order["invoices"] == []  # billed by the schedule instead
    from core.db import db, transaction
    from plugins.bridge.contracts import open_renewals
    from plugins.bridge.models import Contract

    with app.app_context(), transaction():
        contract = db.session.query(Contract).filter_by(deal_id=deal_id).one()
        assert contract.schedule_id is not None
        created = open_renewals()
        assert [d.title for d in created] == ["Renewal: Renew Co"]
        assert open_renewals() == []


def test_reconcile_finds_and_fixes_a_drift(app, api, flow):
    deal_id, _ = flow.deal(company="Drift Co", email="a@drift.example", amount="70.00")
    ok(flow.win(deal_id))
    assert ok(api.get("/api/v1/bridge/reconcile")) == []
    from core.db import db, transaction
    from plugins.bridge.models import SalesOrder

    with app.app_context(), transaction():
        db.session.delete(db.session.query(SalesOrder).filter_by(deal_id=deal_id).one())
    drift = ok(api.get("/api/v1/bridge/reconcile"))
    assert [(d["kind"], d["ref"]) for d in drift] == [("missing_order", f"deal:{deal_id}")]
    fixed = ok(api.post("/api/v1/bridge/reconcile", json={"fix": True}))
    assert fixed[0]["fixed"] is True
    assert ok(api.get("/api/v1/bridge/reconcile")) == []


def test_pages_answer(admin, flow):
    for url in ("/bridge/links", "/bridge/orders", "/bridge/settings", "/bridge/reconcile"):
        assert admin.get(url).status_code == 200, url


def test_deal_page_shows_problems_before_winning(app, api, flow, admin):
    flow.product("BR-P", "10.00", 1)
    deal_id, _ = flow.deal(company="Page Co", email="a@page.example",
                           lines=[{"product_ref": "BR-P", "quantity": "4"}])
    page = admin.get(f"/crm/deals/{deal_id}").get_data(as_text=True)
    assert "Before winning:" in page and "BR-P: 4.000 ordered, 1.000 available" in page
    assert 'name="override_reason"' not in page  # a warning only: nothing to override
    ok(api.patch("/api/v1/bridge/settings", json={"shortage_blocking": True}))
    page = admin.get(f"/crm/deals/{deal_id}").get_data(as_text=True)
    assert 'badge-blocking' in page and 'name="override_reason"' in page


def test_revenue_view_puts_forecast_next_to_recognised_revenue(app, api, flow, admin):
    import datetime as dt

    today = dt.date.today()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=15)
    won, _ = flow.deal(company="Revenue Co", email="a@revenue.example", amount="400.00")
    ok(flow.win(won))
    open_deal, _ = flow.deal(company="Later Co", email="a@later.example", amount="1000.00")
    ok(api.patch(f"/api/v1/crm/deals/{open_deal}", json={"expected_close": next_month.isoformat(),
                                                          "probability": 30}))
    view = ok(api.get("/api/v1/bridge/revenue"))
    months = {m["month"]: m for m in view["months"]}
    this, later = months[today.strftime("%Y-%m")], months[next_month.strftime("%Y-%m")]
    assert this["recognised"] == "400.00"  # the won deal's invoice, posted at once
    assert (later["pipeline"], later["weighted"], later["deals"]) == ("1000.00", "300.00", 1)
    assert view["totals"]["weighted"] == "300.00"
    [expected] = view["expected_payments"]
    invoice = ok(api.get(f"/api/v1/bridge/deals/{won}/status"))["invoices"][0]
    assert (expected["number"], expected["open_amount"], expected["deal_id"], expected["rep"]) == \
        (invoice["number"], "400.00", won, "Administrator")
    page = admin.get("/bridge/revenue").get_data(as_text=True)
    assert invoice["number"] in page and "Recognised revenue" in page and "Revenue Co" in page
    home = admin.get("/").get_data(as_text=True)
    assert "Forecast vs recognised revenue" in home and "widget_failed" not in home
    assert admin.get("/bridge/revenue?date_from=2026-05-01").status_code == 422
    assert api.get("/api/v1/bridge/revenue?date_from=2026-05-01&date_to=2026-01-01").status_code == 422
    # a rep sees the payments expected from their own deals only
    create_user(app, "rep@example.com", ["Sales rep", "Revenue viewer"])
    rep = ApiClient(app.test_client(), token_for(app, "rep@example.com"))
    assert ok(rep.get("/api/v1/bridge/revenue"))["expected_payments"] == []


def test_a_failed_back_feed_keeps_the_payment_and_is_retried_from_the_health_page(
        app, api, flow, admin, monkeypatch):
    deal_id, _ = flow.deal(company="Health Co", email="a@health.example", amount="150.00")
    ok(flow.win(deal_id))
    invoice = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))["invoices"][0]
    customer_id = ok(api.get("/api/v1/bridge/links"))[0]["customer_id"]
    from plugins.bridge import handoffs

    def crm_down(event):
        raise RuntimeError("CRM timeline unavailable")

    monkeypatch.setitem(handoffs.HANDLERS, "on_invoice_paid", crm_down)
    ok(api.post("/api/v1/finance/payments", json={
        "customer_id": customer_id, "amount": "150.00",
        "allocations": [{"invoice_id": invoice["invoice_id"], "amount": "150.00"}]}))
    assert ok(api.get(f"/api/v1/finance/invoices/{invoice['invoice_id']}"))["state"] == "paid"  # the payment stands
    health = ok(api.get("/api/v1/bridge/health"))
    [failure] = health["failures"]
    assert (failure["event"], failure["reason"]) == ("on_invoice_paid", "CRM timeline unavailable")
    assert failure["payload"]["number"] == invoice["number"]
    assert health["drift"] == 1  # reconcile sees the invoice CRM was not told about
    assert "on_payment_received" in [e["name"] for e in health["events"]]
    page = admin.get("/bridge/health").get_data(as_text=True)
    assert "CRM timeline unavailable" in page and "Retry" in page

    again = api.post(f"/api/v1/bridge/handoffs/{failure['id']}/retry", json={})
    assert ok(again)["resolved_at"] is None and again.get_json()["attempts"] == 2
    monkeypatch.undo()
    done = ok(api.post(f"/api/v1/bridge/handoffs/{failure['id']}/retry", json={}))
    assert done["resolved_at"] is not None
    assert api.post(f"/api/v1/bridge/handoffs/{failure['id']}/retry", json={}).status_code == 409
    status = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert status["invoices"][0]["state"] == "paid"
    timeline = ok(api.get("/api/v1/crm/activities", query_string={"deal_id": deal_id, "per_page": 50}))
    assert [a["subject"] for a in timeline["items"]].count(f"Invoice {invoice['number']} paid in full") == 1
    health = ok(api.get("/api/v1/bridge/health"))
    assert health["failures"] == [] and health["drift"] == 0


def test_a_deal_is_marked_recurring_from_its_page(app, admin, api, flow):
    deal_id, _ = flow.deal(company="Monthly Co", email="a@monthly.example", amount="50.00")
    page = admin.get(f"/crm/deals/{deal_id}")
    assert "Mark recurring" in page.get_data(as_text=True)
    token = csrf_from(page)
    done = admin.post(f"/bridge/deals/{deal_id}/contract",
                      data={"period": "quarterly", "term_months": "6", "csrf_token": token},
                      headers={"Referer": f"/crm/deals/{deal_id}"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "billed quarterly for 6 month(s)" in html and "Change contract" in html
    bad = admin.post(f"/bridge/deals/{deal_id}/contract",
                     data={"period": "weekly", "term_months": "6", "csrf_token": token},
                     headers={"Referer": f"/crm/deals/{deal_id}"}, follow_redirects=True)
    assert "Not done: Choose one of monthly, quarterly, yearly." in bad.get_data(as_text=True)
    ok(flow.win(deal_id))
    assert ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))["invoices"] == []  # billed by schedule
    # a rep cannot mark someone else's deal
    create_user(app, "rep2@example.com", ["Sales rep", "Integration manager"])
    rep = ApiClient(app.test_client(), token_for(app, "rep2@example.com"))
    other, _ = flow.deal(company="Other Co", email="a@other.example", amount="10.00")
    assert rep.post(f"/api/v1/bridge/deals/{other}/contract", json={"period": "monthly"}).status_code == 404


def test_demo_runs_the_story_end_to_end(app, api, flow):
    for n in range(4):
        flow.product(f"DEMO-{n}", f"{10 + n}.00", 20)
    for n in range(6):
        flow.deal(company=f"Demo {n} Ltd", email=f"buyer@demo{n}.example", amount=f"{100 + n}.00")
    from core.db import db, transaction
    from plugins.bridge import demo
    from plugins.bridge.models import CaseCredit, Contract, OrderInvoice, SalesOrder

    with app.test_request_context(), app.app_context():
        from flask_login import login_user
        from core.auth.services import user_by_email

        login_user(user_by_email("admin@example.com"))
        with transaction():
            demo.load(lambda n: None)
        assert db.session.query(SalesOrder).count() == 6
        states = sorted(r.state for r in db.session.query(OrderInvoice))
        assert "paid" in states and "partially_paid" in states
        assert db.session.query(CaseCredit).count() == 1
        assert db.session.query(Contract).filter(Contract.renewal_deal_id.is_not(None)).count() == 1
    states = {ok(api.get(f"/api/v1/bridge/deals/{o['deal_id']}/status"))["delivery_state"]
              for o in ok(api.get("/api/v1/bridge/orders"))}
    assert "delivered" in states
    assert ok(api.get("/api/v1/bridge/reconcile")) == []
    assert ok(api.get("/api/v1/bridge/health"))["failures"] == []


def test_orders_won_but_not_yet_invoiced_count_against_the_credit_limit(api, flow):
    ok(api.patch("/api/v1/bridge/settings", json={"invoice_policy": "on_delivery"}))
    flow.product("BR-CL", "100.00", 50)
    first, account_id = flow.deal(company="Later Pay Ltd", email="a@laterpay.example",
                                  lines=[{"product_ref": "BR-CL", "quantity": "8"}])
    ok(flow.win(first))  # 800.00 won, nothing invoiced until delivery
    link = ok(api.get("/api/v1/bridge/links"))[0]
    ok(api.patch(f"/api/v1/finance/customers/{link['customer_id']}", json={"credit_limit": "1000.00"}))
    second = ok(api.post("/api/v1/crm/deals", json={"title": "More", "account_id": account_id,
                                                    "amount": "300.00"}))["id"]
    refused = flow.win(second)
    assert refused.status_code == 409
    assert "800.00 won but not yet invoiced" in refused.get_json()["message"]
    small = ok(api.post("/api/v1/crm/deals", json={"title": "Small", "account_id": account_id,
                                                   "amount": "150.00"}))["id"]
    ok(flow.win(small))  # 800 + 150 fits under 1000


def test_invoices_overdue_past_the_setting_hold_a_win(api, flow):
    first, account_id = flow.deal(amount="100.00")
    ok(flow.win(first))
    customer_id = ok(api.get("/api/v1/bridge/links"))[0]["customer_id"]
    today = dt.date.today()
    old = ok(api.post("/api/v1/finance/invoices", json={
        "customer_id": customer_id, "date": (today - dt.timedelta(days=50)).isoformat(),
        "lines": [{"description": "Old work", "quantity": "1", "unit_price": "40.00"}]}))
    old = ok(api.post(f"/api/v1/finance/invoices/{old['id']}/post", json={}))
    days_late = (today - dt.date.fromisoformat(old["due_date"])).days
    assert days_late > 1

    def win_new_deal():
        deal = ok(api.post("/api/v1/crm/deals", json={"title": "Again", "account_id": account_id,
                                                      "amount": "50.00"}))
        return flow.win(deal["id"])

    ok(api.patch("/api/v1/bridge/settings", json={"overdue_days": days_late + 1}))
    ok(win_new_deal())  # late, but not by more than the setting allows
    ok(api.patch("/api/v1/bridge/settings", json={"overdue_days": days_late}))
    refused = win_new_deal()
    assert refused.status_code == 409
    assert f"invoices overdue by more than {days_late} days: {old['number']}" in refused.get_json()["message"]
