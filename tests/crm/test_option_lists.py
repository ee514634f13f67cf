"""Option lists: the API speaks slugs, pages show labels, admins edit the lists.

Sources, industries, channels and lost reasons are lists in ``core_option`` (seeded by
``crm_0004``); a case's status is a fixed list. Every field holding one is a
``core.options.Choice``: old display values are read as their slugs, anything else is a
422 naming the field and the allowed slugs, a deactivated option stays on the records
holding it but is refused as a new value.
"""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import csrf_from

API = "/api/v1/crm"
ADMIN = "/api/v1/admin"


def _ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.get_data(as_text=True)
    return response.get_json()


def test_api_speaks_slugs_and_reads_old_display_values(api):
    lead = _ok(api.post(f"{API}/leads", json={"name": "Ada", "source": "Cold call", "industry": "RETAIL"}))
    assert (lead["source"], lead["industry"]) == ("cold_call", "retail")
    contact = _ok(api.post(f"{API}/contacts", json={"name": "Ben", "source": "cold_call"}))
    assert contact["source"] == "cold_call"
    campaign = _ok(api.post(f"{API}/campaigns", json={"name": "Fair", "channel": "Event"}))
    assert campaign["channel"] == "event"
    case = _ok(api.post(f"{API}/cases", json={"subject": "Broken", "status": "in progress"}))
    assert case["status"] == "in_progress"
    # filters read old display values too, and find the slugs stored
    found = _ok(api.get(f"{API}/leads", query_string={"source": "Cold Call"}))
    assert [r["id"] for r in found["items"]] == [lead["id"]]
    assert _ok(api.get(f"{API}/cases", query_string={"status": "in progress"}))["total"] == 1


def test_unknown_value_is_a_422_naming_the_field_and_the_allowed_slugs(api):
    response = api.post(f"{API}/leads", json={"name": "Ada", "source": "Carrier pigeon"})
    assert response.status_code == 422
    message = response.get_json()["errors"]["source"][0]
    assert "website" in message and "cold_call" in message and "Cold call" not in message
    response = api.post(f"{API}/deals/{_ok(api.post(f'{API}/deals', json={'title': 'D'}))['id']}/lose",
                        json={"reason": "the moon was full"})
    assert response.status_code == 422 and "price" in response.get_json()["errors"]["reason"][0]
    assert api.get(f"{API}/leads", query_string={"industry": "Astrology"}).status_code == 422


def test_lost_reason_is_an_option_with_a_note(api, listener):
    deal = _ok(api.post(f"{API}/deals", json={"title": "Lost one"}))
    lost = _ok(api.post(f"{API}/deals/{deal['id']}/lose", json={"reason": "Went with a competitor",
                                                                "note": "They bundled support"}))
    assert (lost["lost_reason"], lost["lost_note"], lost["status"]) == ("competitor", "They bundled support", "lost")
    assert [e.reason for kind, e in listener.events if kind == "lost"] == ["competitor"]


def test_admin_adds_renames_reorders_and_deactivates(api):
    sources = _ok(api.get(f"{ADMIN}/options/crm.source"))
    assert sources["editable"] and [o["slug"] for o in sources["options"]][:4] == [
        "website", "referral", "event", "cold_call"]
    added = _ok(api.post(f"{ADMIN}/options/crm.source", json={"label": "Trade fair 2027"}), 201)
    assert (added["slug"], added["active"]) == ("trade_fair_2027", True)
    assert _ok(api.post(f"{API}/leads", json={"name": "New", "source": "trade_fair_2027"}))["source"] == "trade_fair_2027"
    renamed = _ok(api.patch(f"{ADMIN}/options/crm.source/cold_call", json={"label": "Cold calling"}))
    assert (renamed["slug"], renamed["label"]) == ("cold_call", "Cold calling")  # the slug never changes
    # the old display value still names it, as does the new label
    assert _ok(api.post(f"{API}/leads", json={"name": "Old", "source": "Cold call"}))["source"] == "cold_call"
    assert _ok(api.post(f"{API}/leads", json={"name": "New", "source": "cold calling"}))["source"] == "cold_call"
    _ok(api.patch(f"{ADMIN}/options/crm.source/trade_fair_2027", json={"position": 0}))
    order = [o["slug"] for o in _ok(api.get(f"{ADMIN}/options/crm.source"))["options"]]
    assert order[:3] == ["trade_fair_2027", "website", "referral"] and len(order) == 9
    assert api.post(f"{ADMIN}/options/crm.source", json={"label": "Website"}).status_code == 422  # taken
    assert api.post(f"{ADMIN}/options/crm.case_status", json={"label": "Waiting"}).status_code == 409  # fixed
    assert api.patch(f"{ADMIN}/options/crm.source/nope", json={"label": "X"}).status_code == 404
    lists = {lst["key"] for lst in _ok(api.get(f"{ADMIN}/options"))}
    assert {"crm.source", "crm.industry", "crm.channel", "crm.lost_reason", "crm.case_status"} <= lists


def test_deactivated_option_stays_on_its_records_but_is_not_offered(api, admin):
    lead = _ok(api.post(f"{API}/leads", json={"name": "Held", "source": "partner"}))
    _ok(api.patch(f"{ADMIN}/options/crm.source/partner", json={"active": False}))
    refused = api.post(f"{API}/leads", json={"name": "New", "source": "partner"})
    assert refused.status_code == 422 and "no longer offered" in refused.get_json()["errors"]["source"][0]
    other = _ok(api.post(f"{API}/leads", json={"name": "Other", "source": "website"}))
    assert api.patch(f"{API}/leads/{other['id']}", json={"source": "partner"}).status_code == 422
    # the lead holding it is saved with it, through the API and the form
    kept = _ok(api.patch(f"{API}/leads/{lead['id']}", json={"source": "partner", "name": "Held again"}))
    assert (kept["source"], kept["name"]) == ("partner", "Held again")
    form = admin.get(f"/crm/leads/{lead['id']}/edit").get_data(as_text=True)
    assert 'value="partner" selected' in form.replace("  ", " ") or "Partner (inactive)" in form
    saved = admin.post(f"/crm/leads/{lead['id']}/edit", data={"name": "Held", "source": "partner",
                                                               "csrf_token": csrf_from(admin.get(f"/crm/leads/{lead['id']}/edit"))})
    assert saved.status_code == 302
    new_form = admin.get("/crm/leads/new").get_data(as_text=True)
    assert 'value="website"' in new_form and 'value="partner"' not in new_form
    # filters still find it
    assert _ok(api.get(f"{API}/leads", query_string={"source": "partner"}))["total"] == 1


def test_pages_show_labels(api, admin):
    lead = _ok(api.post(f"{API}/leads", json={"name": "Ada", "source": "cold_call", "industry": "healthcare"}))
    _ok(api.patch(f"{ADMIN}/options/crm.source/cold_call", json={"label": "Cold calling"}))
    detail = admin.get(f"/crm/leads/{lead['id']}").get_data(as_text=True)
    assert "<dd>Cold calling</dd>" in detail and "<dd>Healthcare</dd>" in detail  # the fields card
    assert "Cold calling" in admin.get("/crm/leads").get_data(as_text=True)
    case = _ok(api.post(f"{API}/cases", json={"subject": "Slow", "status": "in_progress"}))
    assert "In progress" in admin.get(f"/crm/cases/{case['id']}").get_data(as_text=True)


def test_settings_page_edits_the_lists(admin, api):
    page = admin.get("/admin/options")
    assert page.status_code == 200 and "Sources" in page.get_data(as_text=True)
    token = csrf_from(page)
    added = admin.post("/admin/options/crm.industry", data={"label": "Agriculture", "csrf_token": token})
    assert added.status_code == 302
    admin.post("/admin/options/crm.industry/agriculture", data={"label": "Farming", "csrf_token": token})
    admin.post("/admin/options/crm.industry/agriculture", data={"position": "0", "csrf_token": token})
    admin.post("/admin/options/crm.industry/retail", data={"active": "false", "csrf_token": token})
    industries = {o["slug"]: o for o in _ok(api.get(f"{ADMIN}/options/crm.industry"))["options"]}
    assert industries["agriculture"]["label"] == "Farming" and industries["agriculture"]["position"] == 0
    assert industries["retail"]["active"] is False
    bad = admin.post("/admin/options/crm.industry", data={"label": "", "csrf_token": token})
    assert bad.status_code == 422 and "Enter a label." in bad.get_data(as_text=True)
    assert admin.post("/admin/options/crm.industry", data={"label": "No token"}).status_code in (400, 403)


def test_openapi_lists_the_live_slugs(api, app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    lead = doc["components"]["schemas"]["Lead"]["properties"]
    assert lead["source"]["x-option-list"] == "crm.source"
    assert "cold_call" in lead["source"]["enum"] and "Cold call" not in lead["source"]["enum"]
    assert doc["components"]["schemas"]["Case"]["properties"]["status"]["enum"] == [
        "open", "in_progress", "resolved", "closed"]
    _ok(api.post(f"{ADMIN}/options/crm.source", json={"label": "Podcast"}), 201)
    doc = app.test_client().get("/api/openapi.json").get_json()
    assert "podcast" in doc["components"]["schemas"]["Lead"]["properties"]["source"]["enum"]


def test_csv_import_export_round_trip_and_automation_match(api, app):
    report = _ok(api.post(f"{API}/leads/import", data="name,source,industry\nAda,Cold call,Retail\nBen,referral,\n",
                          headers={"Content-Type": "text/csv"}))
    assert report["created"] == 2
    exported = api.get(f"{API}/export/leads").get_data(as_text=True)
    assert "cold_call,retail" in exported and "Cold call" not in exported
    bad = api.post(f"{API}/leads/import", data="name,source\nEve,Telepathy\n", headers={"Content-Type": "text/csv"})
    assert bad.status_code == 422 and "source" in str(bad.get_json())
    admin_id = _ok(api.get("/api/v1/auth/me"))["id"]
    rule = _ok(api.post(f"{API}/automations", json={"name": "Cold callers", "kind": "assign_lead",
                                                    "match_field": "source", "match_value": "Cold call",
                                                    "assignee_ids": str(admin_id)}))
    assert rule["match_value"] == "cold_call"
    assert _ok(api.post(f"{API}/automation/run"))["leads_assigned"] == 1
    assert api.post(f"{API}/automations", json={"name": "Bad", "kind": "assign_lead", "match_field": "industry",
                                                "match_value": "Alchemy", "assignee_ids": str(admin_id)}
                    ).status_code == 422


def test_migration_converts_stored_values_to_slugs(app):
    """crm_0004 turns the display values the tables held into slugs (and keeps what no
    option names), run here again on rows written the old way."""
    from alembic import command

    from core import migrate
    from core.db import db, transaction
    from core.registry import current_registry

    with app.app_context(), transaction():
        conn = db.session.connection()
        cfg = migrate._config(current_registry(), conn)
        command.downgrade(cfg, "crm_0003")
        conn.execute(sa.text("INSERT INTO crm_account (name, industry, revision, created_at, updated_at) "
                             "VALUES ('A', 'Retail', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
                             "('B', 'Space mining', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO crm_lead (name, source, status, created_at, updated_at) "
                             "VALUES ('L', 'Cold call', 'new', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO crm_case (subject, status, priority, created_at, updated_at) "
                             "VALUES ('C', 'in progress', 'normal', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        command.upgrade(cfg, "crm@head")
        industries = dict(conn.execute(sa.text("SELECT name, industry FROM crm_account")).all())
        assert industries == {"A": "retail", "B": "space_mining"}
        assert conn.execute(sa.text("SELECT source FROM crm_lead")).scalar() == "cold_call"
        assert conn.execute(sa.text("SELECT status FROM crm_case")).scalar() == "in_progress"
        kept = conn.execute(sa.text("SELECT label, active FROM core_option WHERE list_key = 'crm.industry' "
                                    "AND slug = 'space_mining'")).one()
        assert tuple(kept) == ("Space mining", False)
        seeded = conn.execute(sa.text("SELECT count(*) FROM core_option WHERE list_key = 'crm.source'")).scalar()
        assert seeded == 8
