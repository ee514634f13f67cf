"""Record rules, activities and email logging, tasks and automation, quotes, cases,
merges, CSV, lead capture, the board and the reports."""
from __future__ import annotations

import re

from tests.conftest import csrf_from, login

API = "/api/v1/crm"


def test_record_rules_by_direct_id(api, crm_users):
    ids, c = crm_users
    ann_acc = c["ann"].post(f"{API}/accounts", json={"name": "Ann Co"}).get_json()
    bob_acc = c["bob"].post(f"{API}/accounts", json={"name": "Bob Co"}).get_json()
    bob_deal = c["bob"].post(f"{API}/deals", json={"title": "Bob deal"}).get_json()
    assert c["ann"].get(f"{API}/accounts/{bob_acc['id']}").status_code == 404
    assert c["ann"].patch(f"{API}/accounts/{bob_acc['id']}", json={"name": "x"}).status_code == 404
    assert c["ann"].post(f"{API}/deals/{bob_deal['id']}/win", json={}).status_code == 404
    assert [a["name"] for a in c["ann"].get(f"{API}/accounts").get_json()["items"]] == ["Ann Co"]
    # the manager of ann's team sees ann's records, not bob's
    assert c["meg"].get(f"{API}/accounts/{ann_acc['id']}").status_code == 200
    assert c["meg"].get(f"{API}/accounts/{bob_acc['id']}").status_code == 404
    # a rep cannot attach a record to one out of scope
    bad = c["ann"].post(f"{API}/contacts", json={"name": "P", "account_id": bob_acc["id"]})
    assert bad.status_code == 422
    # exports and reports follow the rules; the admin sees everything
    export = c["ann"].get(f"{API}/export/accounts").get_data(as_text=True)
    assert "Ann Co" in export and "Bob Co" not in export
    report = c["ann"].get(f"{API}/reports/pipeline").get_json()
    assert sum(r["count"] for r in report["rows"]) == 0
    assert api.get(f"{API}/accounts").get_json()["total"] == 2


def test_timeline_and_email_logging(api):
    contact = api.post(f"{API}/contacts", json={"name": "Mia", "email": "mia@shop.example"}).get_json()
    raw = ("From: Mia <MIA@shop.example>\r\nTo: sales@us.example\r\nSubject: Order question\r\n"
           "Message-ID: <abc@shop.example>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0100\r\n\r\nHello there\r\n")
    first = api.post(f"{API}/activities/email", json={"raw": raw})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["contact_id"] == contact["id"] and first.get_json()["kind"] == "email"
    again = api.post(f"{API}/activities/email", json={"raw": raw})
    assert again.get_json()["id"] == first.get_json()["id"]
    parts = api.post(f"{API}/activities/email", json={"from": "x@y.example", "to": ["mia@shop.example"],
                                                      "subject": "Re: order"})
    assert parts.status_code == 201
    unknown = api.post(f"{API}/activities/email", json={"from": "nobody@nowhere.example"})
    assert unknown.status_code == 409 and unknown.get_json()["code"] == "no_matching_contact"
    assert api.post(f"{API}/activities/email", json={}).status_code == 422
    items = api.get(f"{API}/activities?contact_id={contact['id']}&sort=-occurred_at").get_json()["items"]
    assert len(items) == 2


def test_automation_follow_up_and_lead_assignment(app, api, crm_users):
    import datetime as dt

    from core.db import db, transaction
    from plugins.crm.models import Deal, Notification
    from plugins.crm.work import run_automation

    ids, c = crm_users
    deal = c["ann"].post(f"{API}/deals", json={"title": "Quiet deal"}).get_json()
    assert api.post(f"{API}/automations", json={"name": "Quiet", "kind": "stale_deal", "days": 7}).status_code == 201
    rule = api.post(f"{API}/automations", json={"name": "RR", "kind": "assign_lead",
                                               "assignee_ids": f"{ids['ann']},{ids['bob']}"})
    assert rule.status_code == 201, rule.get_json()
    assert api.post(f"{API}/automations", json={"name": "x", "kind": "stale_deal"}).status_code == 422
    for i in range(3):
        api.post(f"{API}/leads", json={"name": f"L{i}"})
    with app.app_context(), transaction():
        db.session.get(Deal, deal["id"]).created_at -= dt.timedelta(days=10)
    with app.app_context(), transaction():
        first = run_automation()
        second = run_automation()
    assert first == {"tasks_created": 1, "leads_assigned": 3} and second == {"tasks_created": 0, "leads_assigned": 0}
    owners = [l["owner_id"] for l in api.get(f"{API}/leads?sort=id").get_json()["items"]]
    assert owners == [ids["ann"], ids["bob"], ids["ann"]]
    mine = c["ann"].get(f"{API}/tasks/mine").get_json()
    assert [t["deal_id"] for t in mine] == [deal["id"]]
    with app.app_context():
        assert db.session.query(Notification).filter_by(user_id=ids["ann"]).count() == 3
    assert len(c["ann"].get(f"{API}/notifications").get_json()) == 3


def test_quotes_totals_versions_and_acceptance(api):
    deal = api.post(f"{API}/deals", json={"title": "Quoted", "amount": "1.00"}).get_json()
    lines = [{"description": "Licence", "quantity": "3", "unit_price": "100.00", "discount": "10", "tax_rate": "20"},
             {"description": "Setup", "unit_price": "49.99"}]
    quote = api.post(f"{API}/quotes", json={"deal_id": deal["id"], "lines": lines})
    assert quote.status_code == 201, quote.get_json()
    q = quote.get_json()
    assert (q["number"], q["version"], q["state"]) == ("Q-00001", 1, "draft")
    assert (q["subtotal"], q["tax_total"], q["total"]) == ("319.99", "54.00", "373.99")
    no_desc = api.post(f"{API}/quotes", json={"deal_id": deal["id"], "lines": [{"product_ref": "SKU-1"}]})
    assert no_desc.status_code == 422  # no catalogue answers: lines are free text
    assert api.post(f"{API}/quotes/{q['id']}/send").get_json()["state"] == "sent"
    assert api.patch(f"{API}/quotes/{q['id']}", json={"notes": "x"}).status_code == 409
    v2 = api.post(f"{API}/quotes/{q['id']}/revise").get_json()
    assert (v2["number"], v2["version"], v2["state"]) == ("Q-00001", 2, "draft")
    accepted = api.post(f"{API}/quotes/{v2['id']}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "accepted"
    assert api.get(f"{API}/deals/{deal['id']}").get_json()["amount"] == "319.99"
    assert api.get(f"{API}/quotes/{q['id']}").get_json()["state"] == "rejected"


def test_case_resolution_event(api, listener):
    case = api.post(f"{API}/cases", json={"subject": "Broken", "priority": "high"}).get_json()
    assert api.post(f"{API}/cases/{case['id']}/resolve", json={"resolution": " "}).status_code == 422
    done = api.post(f"{API}/cases/{case['id']}/resolve", json={"resolution": "credit of 120.00 on invoice X"})
    assert done.get_json()["status"] == "resolved"
    api.post(f"{API}/cases/{case['id']}/resolve", json={"resolution": "again"})
    assert [e.resolution for k, e in listener.events if k == "case"] == ["credit of 120.00 on invoice X"]


def test_duplicates_and_merge(api):
    keep = api.post(f"{API}/contacts", json={"name": "Kim", "email": "kim@a.example"}).get_json()
    other = api.post(f"{API}/contacts", json={"name": "Kim B", "email": "KIM@a.example", "phone": "123"}).get_json()
    deal = api.post(f"{API}/deals", json={"title": "D", "contact_id": other["id"]}).get_json()
    found = api.get(f"{API}/duplicates?email=kim@a.example").get_json()["contacts"]
    assert {c["id"] for c in found} == {keep["id"], other["id"]}
    merged = api.post(f"{API}/contacts/{keep['id']}/merge", json={"other_id": other["id"]})
    assert merged.status_code == 200 and merged.get_json()["phone"] == "123"
    assert api.get(f"{API}/deals/{deal['id']}").get_json()["contact_id"] == keep["id"]
    assert api.get(f"{API}/contacts/{other['id']}").status_code == 404
    a1 = api.post(f"{API}/accounts", json={"name": "Initech LLC"}).get_json()
    a2 = api.post(f"{API}/accounts", json={"name": "initech"}).get_json()
    dupes = api.get(f"{API}/duplicates?name=Initech%20Inc").get_json()["accounts"]
    assert {a["id"] for a in dupes} == {a1["id"], a2["id"]}
    assert api.post(f"{API}/accounts/{a1['id']}/merge", json={"other_id": a1["id"]}).status_code == 422
    assert api.post(f"{API}/accounts/{a1['id']}/merge", json={"other_id": a2["id"]}).status_code == 200


def test_csv_import_all_or_nothing_and_safe_export(api):
    bad = "Company,domain\nGood Co,good.example\n,bad.example\nX,not a domain\n"
    rejected = api.post(f"{API}/import/accounts", json={"csv": bad, "mapping": {"Company": "name"}})
    assert rejected.status_code == 422
    assert [e["line"] for e in rejected.get_json()["report"]["errors"]] == [3, 4]
    assert api.get(f"{API}/accounts").get_json()["total"] == 0
    good = "Company,domain\n=HYPERLINK(\"x\"),evil.example\n+Plus Co,plus.example\n"
    report = api.post(f"{API}/import/accounts", json={"csv": good, "mapping": {"Company": "name"}}).get_json()
    assert report["created"] == 2
    export = api.get(f"{API}/export/accounts").get_data(as_text=True)
    assert "'=HYPERLINK" in export and "'+Plus Co" in export


def test_lead_capture_honeypot_rate_limit_and_errors(app):
    client = app.test_client()
    bad = client.post(f"{API}/lead-capture", json={"name": "", "email": "nope"})
    assert bad.status_code == 422 and {"name", "email"} <= set(bad.get_json()["errors"])
    ok = client.post(f"{API}/lead-capture", json={"name": "Web Lead", "email": "web@lead.example"})
    assert ok.status_code == 201, ok.get_json()
    trap = client.post(f"{API}/lead-capture", json={"name": "Bot", "email": "bot@x.example", "homepage": "http://spam"})
    assert trap.status_code == 201
    for _ in range(3):
        client.post(f"{API}/lead-capture", json={"name": "Again", "email": "again@lead.example"})
    limited = client.post(f"{API}/lead-capture", json={"name": "Over", "email": "over@lead.example"})
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    from core.db import db
    from plugins.crm.models import Lead

    with app.app_context():
        names = [l.name for l in db.session.query(Lead)]
    assert "Bot" not in names and "Web Lead" in names and "Over" not in names
    # the HTML form works without login and needs its CSRF token
    page = client.get("/crm/lead-form")
    assert page.status_code == 200
    assert client.post("/crm/lead-form", data={"name": "N", "email": "n@x.example"}).status_code == 400


def test_board_move_endpoint_and_pages(admin, api, blocker):
    deal = api.post(f"{API}/deals", json={"title": "Drag me"}).get_json()
    stages = {s["name"]: s["id"] for s in api.get(f"{API}/pipelines").get_json()["items"][0]["stages"]}
    board = admin.get("/crm/board")
    assert board.status_code == 200 and "Drag me" in board.get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]+)"', board.get_data(as_text=True)).group(1)
    assert "<script>" not in board.get_data(as_text=True)
    no_token = admin.post("/crm/board/move", json={"deal_id": deal["id"], "stage_id": stages["Proposal"]})
    assert no_token.status_code == 400
    moved = admin.post("/crm/board/move", json={"deal_id": deal["id"], "stage_id": stages["Proposal"]},
                       headers={"X-CSRFToken": token})
    assert moved.status_code == 200 and moved.get_json()["ok"]
    blocked = admin.post("/crm/board/move", json={"deal_id": deal["id"], "stage_id": stages["Won"]},
                         headers={"X-CSRFToken": token})
    assert blocked.status_code == 409 and "credit limit" in blocked.get_json()["message"]
    for url in ("/crm/my-tasks", "/crm/overdue-tasks", "/crm/notifications", "/crm/reports", "/crm/import",
                "/crm/lead-form/embed", f"/crm/deals/{deal['id']}", "/crm/export/accounts.csv"):
        assert admin.get(url).status_code == 200, url


def test_reports_sql_json_page_csv(api, admin):
    api.post(f"{API}/deals", json={"title": "A", "amount": "100.00", "expected_close": "2030-01-15"})
    won = api.post(f"{API}/deals", json={"title": "B", "amount": "300.00", "source": "Referral"}).get_json()
    api.post(f"{API}/deals/{won['id']}/win", json={})
    pipeline = api.get(f"{API}/reports/pipeline").get_json()["rows"]
    assert {r["stage"]: r["value"] for r in pipeline} == {"New": "100.00", "Won": "300.00"}
    forecast = api.get(f"{API}/reports/forecast").get_json()["rows"]
    assert forecast == [{"month": "2030-01", "currency": "EUR", "count": 1, "value": "100.00", "weighted": "10.00"}]
    rate = api.get(f"{API}/reports/win-rate-source").get_json()["rows"]
    assert rate[0]["source"] == "referral" and rate[0]["win_rate"] == 100.0  # the API speaks slugs
    assert "<td>Referral</td>" in admin.get("/crm/reports/win-rate-source").get_data(as_text=True)
    for name in ("sales-cycle", "activities", "overdue-tasks", "campaigns", "win-rate-owner", "win-rate-campaign"):
        assert api.get(f"{API}/reports/{name}").status_code == 200, name
        assert admin.get(f"/crm/reports/{name}").status_code == 200, name
        assert admin.get(f"/crm/reports/{name}.csv").status_code == 200, name
    assert api.get(f"{API}/reports/nope").status_code == 404


def test_web_forms_show_errors_and_actions_flash(admin, api):
    page = admin.get("/crm/contacts/new")
    response = admin.post("/crm/contacts/new", data={"name": "", "email": "bad", "csrf_token": csrf_from(page)})
    assert response.status_code == 422 and "field-error" in response.get_data(as_text=True)
    deal = api.post(f"{API}/deals", json={"title": "Web deal"}).get_json()
    detail = admin.get(f"/crm/deals/{deal['id']}")
    lost = admin.post(f"/crm/deals/{deal['id']}/lose", data={"reason": "", "csrf_token": csrf_from(detail)},
                      follow_redirects=True)
    assert "Not done" in lost.get_data(as_text=True)
    won = admin.post(f"/crm/deals/{deal['id']}/win", data={"csrf_token": csrf_from(detail)}, follow_redirects=True)
    assert "won" in won.get_data(as_text=True)


def test_demo_data(app):
    from core.db import db
    from core.demo import load_demo
    from contextlib import contextmanager
    from plugins.crm.models import Account, Deal

    @contextmanager
    def progress_for(_name):
        yield lambda n: None

    with app.app_context():
        assert "crm" in load_demo(progress_for)
        assert db.session.query(Account).count() >= 100
        assert db.session.query(Deal).count() >= 150


def test_an_activity_moved_to_an_unknown_lead_is_refused(api):
    account = api.post(f"{API}/accounts", json={"name": "Lead Links Ltd"}).get_json()
    logged = api.post(f"{API}/activities", json={"kind": "note", "subject": "Hello", "account_id": account["id"]})
    assert logged.status_code == 201, logged.get_json()
    moved = api.patch(f"{API}/activities/{logged.get_json()['id']}", json={"lead_id": 999999})
    assert moved.status_code == 422 and "lead_id" in moved.get_json()["errors"]


def test_campaign_names_are_unique_and_a_campaign_keeps_its_own(api, admin):
    spring = api.post(f"{API}/campaigns", json={"name": "Spring fair", "starts_on": "2026-03-01",
                                                "ends_on": "2026-03-31"})
    assert spring.status_code == 201, spring.get_json()
    spring = spring.get_json()
    twin = api.post(f"{API}/campaigns", json={"name": "Spring fair"})
    assert twin.status_code == 422 and "has this name" in str(twin.get_json())
    same = api.patch(f"{API}/campaigns/{spring['id']}", json={"name": "Spring fair", "cost": "150.00"})
    assert same.status_code == 200, same.get_json()
    backwards = api.patch(f"{API}/campaigns/{spring['id']}", json={"ends_on": "2026-02-01"})
    assert backwards.status_code == 422 and "end before it starts" in str(backwards.get_json())
    # the edit form saved unchanged
    token = csrf_from(admin.get(f"/crm/campaigns/{spring['id']}/edit"))
    saved = admin.post(f"/crm/campaigns/{spring['id']}/edit", data={
        "name": "Spring fair", "starts_on": "2026-03-01", "ends_on": "2026-03-31", "csrf_token": token})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]


def test_a_sent_quote_offers_no_edit_form(api, admin):
    deal = api.post(f"{API}/deals", json={"title": "Locked quote deal"}).get_json()
    quote = api.post(f"{API}/quotes", json={"deal_id": deal["id"], "notes": "as sent",
                                            "lines": [{"description": "Licence", "unit_price": "10.00"}]}).get_json()
    assert 'Edit</a>' in admin.get(f"/crm/quotes/{quote['id']}").get_data(as_text=True)
    assert api.post(f"{API}/quotes/{quote['id']}/send").status_code == 200

    detail = admin.get(f"/crm/quotes/{quote['id']}").get_data(as_text=True)
    assert f'/crm/quotes/{quote["id"]}/edit' not in detail
    token = csrf_from(admin.get(f"/crm/quotes/{quote['id']}"))
    for method in ("get", "post"):
        form = getattr(admin, method)(f"/crm/quotes/{quote['id']}/edit", data={"notes": "changed", "csrf_token": token})
        assert form.status_code == 302 and form.headers["Location"].endswith(f"/crm/quotes/{quote['id']}")
    shown = admin.get(f"/crm/quotes/{quote['id']}").get_data(as_text=True)
    assert "is sent; make a new version to change it" in shown
    assert api.get(f"{API}/quotes/{quote['id']}").get_json()["notes"] == "as sent"
