"""Contacts, leads and conversion, pipelines, deals, win/lose and their events."""
from __future__ import annotations

from decimal import Decimal

from tests.conformance import check_plugin

API = "/api/v1/crm"


def test_conformance(app):
    check_plugin(app, "crm")


def test_default_pipeline_created_at_install(api):
    pipelines = api.get(f"{API}/pipelines").get_json()["items"]
    assert [p["name"] for p in pipelines] == ["Sales"]
    stages = pipelines[0]["stages"]
    assert [s["name"] for s in stages] == ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert [s["is_won"] for s in stages].count(True) == 1


def test_contact_without_account_and_bad_input(api):
    ok = api.post(f"{API}/contacts", json={"name": "Solo Person", "email": "Solo@Example.org"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["email"] == "solo@example.org" and ok.get_json()["account_id"] is None
    bad = api.post(f"{API}/contacts", json={"name": " ", "email": "not-an-email", "account_id": 999})
    assert bad.status_code == 422
    assert {"name", "email"} <= set(bad.get_json()["errors"])
    missing = api.post(f"{API}/contacts", json={"name": "X", "account_id": 999})
    assert missing.status_code == 422 and "account_id" in missing.get_json()["errors"]


def _lead(api, **extra):
    body = {"name": "Lea Lead", "company": "Acme Corp", "email": "lea@acme.example", **extra}
    response = api.post(f"{API}/leads", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_conversion_reuses_account_and_contact_never_duplicates(api):
    account = api.post(f"{API}/accounts", json={"name": "ACME, Inc.", "domain": "acme.example"}).get_json()
    lead = _lead(api)
    note = api.post(f"{API}/activities", json={"kind": "call", "subject": "First call", "lead_id": lead["id"]})
    assert note.status_code == 201
    converted = api.post(f"{API}/leads/{lead['id']}/convert", json={"create_deal": True, "amount": "1500.00"})
    assert converted.status_code == 200, converted.get_json()
    body = converted.get_json()
    assert body["status"] == "converted" and body["account_id"] == account["id"] and body["deal_id"]
    # a second lead from the same person and company reuses both
    second = _lead(api, name="Lea again")
    again = api.post(f"{API}/leads/{second['id']}/convert", json={}).get_json()
    assert again["account_id"] == account["id"] and again["contact_id"] == body["contact_id"]
    assert api.get(f"{API}/accounts").get_json()["total"] == 1
    assert api.get(f"{API}/contacts").get_json()["total"] == 1
    # converting twice is refused; the lead's history followed it
    twice = api.post(f"{API}/leads/{lead['id']}/convert", json={})
    assert twice.status_code == 409 and twice.get_json()["code"] == "invalid_state"
    assert twice.get_json()["state"] == "converted"
    timeline = api.get(f"{API}/activities?contact_id={body['contact_id']}").get_json()["items"]
    assert "First call" in [a["subject"] for a in timeline]
    deal = api.get(f"{API}/deals/{body['deal_id']}").get_json()
    assert deal["amount"] == "1500.00" and deal["stage_name"] == "New"


def test_conversion_by_company_name_without_domain(api):
    account = api.post(f"{API}/accounts", json={"name": "Globex Ltd"}).get_json()
    lead = _lead(api, company="GLOBEX", email="someone@gmail.com")
    body = api.post(f"{API}/leads/{lead['id']}/convert", json={}).get_json()
    assert body["account_id"] == account["id"]


def _deal(api, **extra):
    response = api.post(f"{API}/deals", json={"title": "Big deal", "amount": "1000.50", "currency": "EUR", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_deal_money_is_decimal_and_validated(api):
    deal = _deal(api)
    assert deal["amount"] == "1000.50" and deal["probability"] == 10 and deal["status"] == "open"
    for bad in ({"amount": "-5"}, {"amount": "abc"}, {"currency": "XXX"}, {"probability": 101}):
        response = api.post(f"{API}/deals", json={"title": "t", **bad})
        assert response.status_code == 422, bad


def test_win_twice_has_one_effect(api, listener):
    deal = _deal(api)
    first = api.post(f"{API}/deals/{deal['id']}/win", json={})
    assert first.status_code == 200 and first.get_json()["status"] == "won"
    second = api.post(f"{API}/deals/{deal['id']}/win", json={})
    assert second.status_code == 200
    won = [e for kind, e in listener.events if kind == "won"]
    assert len(won) == 1 and won[0].amount == Decimal("1000.50") and won[0].currency == "EUR"
    lose = api.post(f"{API}/deals/{deal['id']}/lose", json={"reason": "timing"})
    assert lose.status_code == 409


def test_blocked_win_and_override(app, api, blocker, listener, crm_users):
    deal = _deal(api)
    refused = api.post(f"{API}/deals/{deal['id']}/win", json={})
    # the admin may override, but only with a reason
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "deal_blocked" and "credit limit exceeded" in body["message"]
    assert body["details"]["problems"][0]["code"] == "credit_limit"
    assert api.get(f"{API}/deals/{deal['id']}").get_json()["status"] == "open"
    ids, clients = crm_users
    rep_deal = clients["ann"].post(f"{API}/deals", json={"title": "Rep deal"}).get_json()
    rep = clients["ann"].post(f"{API}/deals/{rep_deal['id']}/win", json={"override_reason": "trust me"})
    assert rep.status_code == 409 and rep.get_json()["details"]["can_override"] is False
    ok = api.post(f"{API}/deals/{deal['id']}/win", json={"override_reason": "paid in advance"})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["override_reason"] == "paid in advance"
    assert [e.override_reason for kind, e in listener.events if kind == "won"] == ["paid in advance"]


def test_lose_needs_reason_and_move_rules(api, listener):
    deal = _deal(api)
    stages = {s["name"]: s["id"] for s in api.get(f"{API}/pipelines").get_json()["items"][0]["stages"]}
    assert api.post(f"{API}/deals/{deal['id']}/lose", json={"reason": ""}).status_code == 422
    moved = api.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": stages["Proposal"]})
    assert moved.status_code == 200 and moved.get_json()["probability"] == 50
    to_lost = api.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": stages["Lost"]})
    assert to_lost.status_code == 409 and to_lost.get_json()["code"] == "lost_reason_required"
    lost = api.post(f"{API}/deals/{deal['id']}/lose", json={"reason": "Price"})
    assert lost.get_json()["status"] == "lost" and lost.get_json()["lost_reason"] == "price"
    assert [k for k, _ in listener.events] == ["lost"]
    assert api.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": 99999}).status_code == 422


def test_crm_alone(kernel_db):
    """CRM installed on a bare kernel: default pipeline, pages and a won deal work."""
    from core import lifecycle
    from core.db import transaction
    from tests.conftest import ApiClient, dispose, login, make_app, token_for

    app = make_app(kernel_db)
    try:
        with app.app_context(), transaction():
            lifecycle.install("crm")
        assert app.extensions["tandem"].installed - app.extensions["tandem"].essential_names() == {"crm"}
        api = ApiClient(app.test_client(), token_for(app))
        deal = api.post(f"{API}/deals", json={"title": "Solo", "amount": "10.00"}).get_json()
        assert api.post(f"{API}/deals/{deal['id']}/win", json={}).get_json()["status"] == "won"
        page = login(app.test_client())
        for url in ("/crm/board", "/crm/reports", "/crm/reports/pipeline", f"/crm/deals/{deal['id']}"):
            assert page.get(url).status_code == 200, url
    finally:
        dispose(app)


def test_possible_duplicates_are_shown_when_creating_an_account(app):
    from tests.conftest import ApiClient, csrf_from, login, token_for

    api = ApiClient(app.test_client(), token_for(app))
    api.post("/api/v1/crm/accounts", json={"name": "Dupont SA", "domain": "dupont.example"})
    browser = login(app.test_client())
    token = csrf_from(browser.get("/crm/accounts/new"))
    warned = browser.post("/crm/accounts/new", data={"name": "Dupont", "domain": "dupont.example",
                                                     "csrf_token": token})
    assert warned.status_code == 409 and "This may already exist" in warned.get_data(as_text=True)
    assert api.get("/api/v1/crm/accounts?q=Dupont").get_json()["total"] == 1
    created = browser.post("/crm/accounts/new", data={"name": "Dupont", "domain": "dupont.example",
                                                      "create_anyway": "1", "csrf_token": token})
    assert created.status_code == 302
    assert api.get("/api/v1/crm/accounts?q=Dupont").get_json()["total"] == 2


def test_clearing_a_deals_probability_gives_it_back_its_stages(api):
    deal = api.post(f"{API}/deals", json={"title": "Odds", "probability": 80}).get_json()
    assert deal["probability"] == 80
    cleared = api.patch(f"{API}/deals/{deal['id']}", json={"probability": None})
    assert cleared.status_code == 200 and cleared.get_json()["probability"] == 10  # "New": 10 %


def test_crm_alone_reports_campaign_wins_per_currency(kernel_db):
    """Without finance nobody converts: a campaign's won deals are added per currency."""
    from core import lifecycle
    from core.db import transaction
    from tests.conftest import ApiClient, dispose, make_app, token_for

    app = make_app(kernel_db)
    try:
        with app.app_context(), transaction():
            lifecycle.install("crm")
        api = ApiClient(app.test_client(), token_for(app))
        fair = api.post(f"{API}/campaigns", json={"name": "Fair", "cost": "80.00", "currency": "USD"}).get_json()
        for amount, currency in (("100.00", "EUR"), ("40.00", "USD"), ("60.00", "USD"), ("5.00", "GBP")):
            deal = api.post(f"{API}/deals", json={"title": f"{amount} {currency}", "amount": amount,
                                                  "currency": currency, "campaign_id": fair["id"]}).get_json()
            assert api.post(f"{API}/deals/{deal['id']}/win", json={}).status_code == 200
        rows = api.get(f"{API}/reports/campaigns").get_json()["rows"]
        assert [(r["won_value"], r["currency"], r["cost"], r["deals"]) for r in rows] == [
            ("100.00", "USD", "80.00", 4), ("100.00", "EUR", None, None), ("5.00", "GBP", None, None)]
    finally:
        dispose(app)
