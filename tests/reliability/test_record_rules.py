"""Record rules: a sales rep asking for another rep's deal, contact, quote (and account,
activity, task, case) by id, through pages, the API, CSV exports, reports, search, the
board and the dashboard, gets 404 or 403 and never the data. The owner gets it all, so
every check below can fail (plugins/crm/rules.py scopes every query; RecordType.scope).
"""
import pytest

from core.db import db
from tests.conftest import ApiClient, create_user, login, token_for

MARK = "Zanzibarx"  # in every text the owner writes: found means leaked
AMOUNT = "918273.64"
REPORTS = ("pipeline", "forecast", "win-rate-owner", "win-rate-source", "win-rate-campaign",
           "sales-cycle", "activities", "overdue-tasks", "campaigns")


@pytest.fixture
def owned(app):
    """Rep A's records (one of each owned kind) and clients for A and rep B."""
    for email in ("a@reps.example.com", "b@reps.example.com"):
        create_user(app, email, ["Sales rep"], password="rep-pass-123")
    a = ApiClient(app.test_client(), token_for(app, "a@reps.example.com"))
    b = ApiClient(app.test_client(), token_for(app, "b@reps.example.com"))

    def make(path, body):
        response = a.post(f"/api/v1/crm/{path}", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    ids = {"accounts": make("accounts", {"name": f"{MARK} Holdings"})}
    ids["contacts"] = make("contacts", {"name": f"Ada {MARK}", "email": "ada@zanzibarx.example.com",
                                        "account_id": ids["accounts"]})
    ids["deals"] = make("deals", {"title": f"{MARK} expansion", "amount": AMOUNT,
                                  "account_id": ids["accounts"], "contact_id": ids["contacts"]})
    ids["quotes"] = make("quotes", {"deal_id": ids["deals"], "notes": f"{MARK} terms",
                                    "lines": [{"description": f"{MARK} licence", "quantity": "1",
                                               "unit_price": AMOUNT}]})
    ids["activities"] = make("activities", {"kind": "call", "subject": f"Call {MARK}",
                                            "deal_id": ids["deals"]})
    ids["tasks"] = make("tasks", {"title": f"Follow up {MARK}", "deal_id": ids["deals"],
                                  "due_on": "2020-01-01"})
    ids["cases"] = make("cases", {"subject": f"{MARK} complaint", "account_id": ids["accounts"]})
    return ids, a, b


def _leaks(text: str) -> bool:
    return MARK in text or AMOUNT in text or AMOUNT.replace(".", ",") in text


def test_another_reps_records_are_not_found_through_the_api(app, owned):
    ids, a, b = owned
    for kind, record_id in ids.items():
        url = f"/api/v1/crm/{kind}/{record_id}"
        assert a.get(url).status_code == 200  # the owner sees it: the refusal below is a rule
        mine = a.get(f"/api/v1/crm/{kind}").get_data(as_text=True)
        assert MARK in mine or kind == "quotes" and AMOUNT in mine, kind
        assert b.get(url).status_code in (403, 404), kind
        refused = b.patch(url, json={})
        assert refused.status_code in (403, 404) and not _leaks(refused.get_data(as_text=True)), kind
        listed = b.get(f"/api/v1/crm/{kind}?q={MARK}").get_json()
        assert listed["total"] == 0 and not _leaks(b.get(f"/api/v1/crm/{kind}").get_data(as_text=True)), kind
    for action, body in (("deals/{}/win", {}), ("deals/{}/lose", {"reason": "price"}),
                         ("deals/{}/move", {"stage_id": 1}), ("deals/{}/problems", None),
                         ("quotes/{}/send", {}), ("cases/{}/resolve", {"resolution": "x"})):
        kind = action.split("/")[0]
        url = "/api/v1/crm/" + action.format(ids[kind])
        response = b.get(url) if body is None else b.post(url, json=body)
        assert response.status_code in (403, 404) and not _leaks(response.get_data(as_text=True)), url
    assert a.get(f"/api/v1/crm/deals/{ids['deals']}").get_json()["status"] == "open"


def test_another_reps_records_cannot_be_linked_to(app, owned):
    """Naming another rep's record by id in a new one is a look-up too."""
    ids, _a, b = owned
    for path, body in (("deals", {"title": "Mine", "account_id": ids["accounts"]}),
                       ("contacts", {"name": "Mine", "account_id": ids["accounts"]}),
                       ("quotes", {"deal_id": ids["deals"]}),
                       ("activities", {"kind": "note", "subject": "Mine", "deal_id": ids["deals"]}),
                       ("tasks", {"title": "Mine", "deal_id": ids["deals"]})):
        response = b.post(f"/api/v1/crm/{path}", json=body)
        assert response.status_code in (403, 404, 422), (path, response.status_code)
        assert not _leaks(response.get_data(as_text=True)), path


def test_another_reps_records_are_not_shown_on_pages(app, owned):
    ids, _a, _b = owned
    owner = login(app.test_client(), "a@reps.example.com", "rep-pass-123")
    other = login(app.test_client(), "b@reps.example.com", "rep-pass-123")
    for kind, record_id in ids.items():
        for url in (f"/crm/{kind}/{record_id}", f"/crm/{kind}/{record_id}/edit"):
            assert owner.get(url).status_code == 200, url
            response = other.get(url)
            assert response.status_code in (403, 404) and not _leaks(response.get_data(as_text=True)), url
    assert MARK in owner.get(f"/crm/quotes/{ids['quotes']}/print").get_data(as_text=True)
    assert other.get(f"/crm/quotes/{ids['quotes']}/print").status_code in (403, 404)
    searches = ("/search?q=Holdings", "/search?q=expansion", "/search?q=Ada", "/search?q=complaint")
    for url in ("/crm/board", "/", *searches, "/crm/my-tasks", "/crm/overdue-tasks",
                *(f"/crm/{kind}" for kind in ids)):
        response = other.get(url)
        assert response.status_code == 200 and not _leaks(response.get_data(as_text=True)), url
    assert all(MARK in owner.get(url).get_data(as_text=True) for url in searches[:3])


def test_another_reps_records_are_left_out_of_exports_and_reports(app, owned):
    ids, a, b = owned
    owner = login(app.test_client(), "a@reps.example.com", "rep-pass-123")
    other = login(app.test_client(), "b@reps.example.com", "rep-pass-123")
    exports = [f"/crm/{kind}.csv" for kind in ids]
    for url in exports:
        assert MARK in owner.get(url).get_data(as_text=True), url
        assert not _leaks(other.get(url).get_data(as_text=True)), url
    for kind in ("accounts", "contacts"):
        assert MARK in a.get(f"/api/v1/crm/export/{kind}").get_data(as_text=True)
        assert not _leaks(b.get(f"/api/v1/crm/export/{kind}").get_data(as_text=True)), kind
    seen_by_owner = ""
    for name in REPORTS:
        seen_by_owner += a.get(f"/api/v1/crm/reports/{name}").get_data(as_text=True)
        for response in (b.get(f"/api/v1/crm/reports/{name}"), other.get(f"/crm/reports/{name}"),
                         other.get(f"/crm/reports/{name}.csv")):
            assert response.status_code == 200 and not _leaks(response.get_data(as_text=True)), name
    assert AMOUNT in seen_by_owner  # the pipeline report counts the deal for its owner


def test_a_manager_sees_the_team_and_only_the_team(app, owned):
    ids, a, _b = owned
    create_user(app, "boss@reps.example.com", ["Sales manager"], password="rep-pass-123")
    create_user(app, "other-boss@reps.example.com", ["Sales manager"], password="rep-pass-123")
    with app.app_context():
        from core.auth.services import user_by_email
        from plugins.crm import services

        with db.session.begin_nested():
            services.create_team({"name": "East", "manager_id": user_by_email("boss@reps.example.com").id,
                                  "member_ids": [user_by_email("a@reps.example.com").id]})
        db.session.commit()
    boss = ApiClient(app.test_client(), token_for(app, "boss@reps.example.com"))
    outsider = ApiClient(app.test_client(), token_for(app, "other-boss@reps.example.com"))
    for kind, record_id in ids.items():
        assert boss.get(f"/api/v1/crm/{kind}/{record_id}").status_code == 200, kind
        assert outsider.get(f"/api/v1/crm/{kind}/{record_id}").status_code in (403, 404), kind
