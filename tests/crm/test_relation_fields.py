"""A form's link to another record (a contact's account, a case's contact...) among more
records than its select lists: the link a record holds survives an edit, the user can find
any record by typing, and never one they may not see."""
from __future__ import annotations

import re

import sqlalchemy as sa

from core.records import CHOICES_SHOWN
from tests.conftest import create_user, csrf_from, login

API = "/api/v1/crm"
MANY = 520  # past what any select of the forms ever listed (500 before, CHOICES_SHOWN now)


def _many_accounts(app, owner_id=None) -> None:
    from core.db import db, transaction
    from plugins.crm.models import Account

    with app.app_context(), transaction():
        db.session.execute(sa.insert(Account), [{"name": f"Acme branch {i:03}", "owner_id": owner_id}
                                                for i in range(MANY)])


def _options(html: str, select_id: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the select ``select_id``."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [(value, label.strip(), bool(selected)) for value, selected, label in
            re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)]


def test_editing_a_contact_keeps_an_account_the_select_does_not_list_first(app, admin, api):
    _many_accounts(app)
    zeta = api.post(f"{API}/accounts", json={"name": "Zeta Logistics"}).get_json()
    contact = api.post(f"{API}/contacts", json={"name": "Zoe Zeta", "account_id": zeta["id"]}).get_json()

    page = admin.get(f"/crm/contacts/{contact['id']}/edit").get_data(as_text=True)
    options = _options(page, "f-account_id")
    assert len(options) == 1 + CHOICES_SHOWN + 1  # the blank, the first accounts, the one held
    assert (str(zeta["id"]), "Zeta Logistics", True) in options
    assert [label for _, label, _ in options[1:4]] == ["Acme branch 000", "Acme branch 001", "Acme branch 002"]
    assert 'data-choices="/crm/accounts/choices"' in page

    # saved as the browser sends it: the account stays
    form = {"name": "Zoe Zeta", "account_id": str(zeta["id"]), "csrf_token": csrf_from(admin.get(
        f"/crm/contacts/{contact['id']}/edit"))}
    assert admin.post(f"/crm/contacts/{contact['id']}/edit", data=form).status_code == 302
    assert api.get(f"{API}/contacts/{contact['id']}").get_json()["account_id"] == zeta["id"]

    # the list's account filter shows the account it filters by
    listed = admin.get(f"/crm/contacts?account_id={zeta['id']}").get_data(as_text=True)
    assert (str(zeta["id"]), "Zeta Logistics", True) in _options(listed, "filter-account_id")
    assert "Zoe Zeta" in listed


def test_choices_answer_what_was_typed_among_every_record(app, admin, api):
    _many_accounts(app)
    zeta = api.post(f"{API}/accounts", json={"name": "Zeta Logistics", "domain": "zeta.example"}).get_json()

    found = admin.get("/crm/accounts/choices?q=zeta").get_json()
    assert found == {"choices": [{"value": str(zeta["id"]), "label": "Zeta Logistics"}]}
    by_domain = admin.get("/crm/accounts/choices?q=zeta.example").get_json()["choices"]
    assert [c["label"] for c in by_domain] == ["Zeta Logistics"]  # the list's search columns
    first = admin.get("/crm/accounts/choices").get_json()["choices"]
    assert len(first) == CHOICES_SHOWN and first[0]["label"] == "Acme branch 000"
    assert admin.get("/crm/accounts/choices?q=%25%25nothing").get_json() == {"choices": []}
    assert admin.get("/crm/deals/choices?q=" + "x" * 5000).status_code == 200  # long text is cut, not a 500


def test_choices_keep_to_what_the_user_may_see(app, api, crm_users):
    ids, clients = crm_users
    mine = clients["ann"].post(f"{API}/accounts", json={"name": "Zeta Ann's"}).get_json()
    theirs = clients["bob"].post(f"{API}/accounts", json={"name": "Zeta Bob's"}).get_json()
    ann = login(app.test_client(), "ann@example.com", "user-pass-123")

    labels = [c["label"] for c in ann.get("/crm/accounts/choices?q=zeta").get_json()["choices"]]
    assert labels == ["Zeta Ann's"]
    new_contact = ann.get("/crm/contacts/new").get_data(as_text=True)
    values = [value for value, _, _ in _options(new_contact, "f-account_id")]
    assert str(mine["id"]) in values and str(theirs["id"]) not in values

    create_user(app, "viewer@example.com", ["Integration viewer"])
    viewer = login(app.test_client(), "viewer@example.com", "user-pass-123")
    assert viewer.get("/crm/accounts/choices?q=zeta").status_code == 403
    assert app.test_client().get("/crm/accounts/choices").status_code == 302  # to the login page


def test_a_relation_that_is_not_a_number_is_a_form_error(app, admin):
    page = admin.get("/crm/contacts/new")
    response = admin.post("/crm/contacts/new", data={"name": "Nan", "account_id": "abc",
                                                     "csrf_token": csrf_from(page)})
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)


def test_an_id_out_of_range_is_a_form_error_not_a_500(app, admin):
    token = csrf_from(admin.get("/crm/contacts/new"))
    for name in ("", "Big Id"):
        response = admin.post("/crm/contacts/new", data={"name": name, "account_id": str(10**20),
                                                         "csrf_token": token})
        assert response.status_code == 422, name


def test_a_record_keeps_an_owner_who_left_and_a_status_no_longer_offered(app, admin, api, crm_users):
    """A select offering active users only (or a state set by an action) still shows, and
    saves back, the value the record holds."""
    from core.db import db, transaction
    from core.auth.models import User

    ids, _clients = crm_users
    account = api.post(f"{API}/accounts", json={"name": "Left Behind Ltd", "owner_id": ids["bob"]}).get_json()
    with app.app_context(), transaction():
        db.session.get(User, ids["bob"]).active = False
    page = admin.get(f"/crm/accounts/{account['id']}/edit").get_data(as_text=True)
    assert (str(ids["bob"]), "Bob (inactive)", True) in _options(page, "f-owner_id")
    form = {"name": "Left Behind Ltd", "owner_id": str(ids["bob"]), "csrf_token": csrf_from(admin.get("/crm/accounts/new"))}
    assert admin.post(f"/crm/accounts/{account['id']}/edit", data=form).status_code == 302
    assert api.get(f"{API}/accounts/{account['id']}").get_json()["owner_id"] == ids["bob"]
    new = admin.get("/crm/accounts/new").get_data(as_text=True)
    assert str(ids["bob"]) not in [value for value, _, _ in _options(new, "f-owner_id")]  # not offered anew

    lead = api.post(f"{API}/leads", json={"name": "Robin", "company": "Held Co"}).get_json()
    assert api.post(f"{API}/leads/{lead['id']}/convert", json={}).status_code == 200
    converted = admin.get(f"/crm/leads/{lead['id']}/edit").get_data(as_text=True)
    assert ("converted", "converted", True) in _options(converted, "f-status")


def test_a_team_keeps_a_member_who_left_when_saved_as_it_stands(app, admin, api, crm_users):
    from core.db import db, transaction
    from core.auth.models import User
    from plugins.crm.models import Team

    ids, _clients = crm_users
    with app.app_context():
        team_id = db.session.scalar(sa.select(Team.id).where(Team.name == "North"))
    with app.app_context(), transaction():
        db.session.get(User, ids["ann"]).active = False
    page = admin.get(f"/crm/teams/{team_id}/edit").get_data(as_text=True)
    assert re.search(rf'value="{ids["ann"]}"\s+checked>\s*<label[^>]*>Ann \(inactive\)</label>', page)
    form = {"name": "North", "manager_id": str(ids["meg"]), "member_ids": [str(ids["ann"])],
            "csrf_token": csrf_from(admin.get("/crm/teams/new"))}
    assert admin.post(f"/crm/teams/{team_id}/edit", data=form).status_code == 302
    assert api.get(f"{API}/teams/{team_id}").get_json()["member_ids"] == [ids["ann"]]


def test_a_csv_import_links_records_by_name_or_id(app, api, admin):
    acme = api.post(f"{API}/accounts", json={"name": "Acme Tools"}).get_json()
    for _ in range(2):
        api.post(f"{API}/accounts", json={"name": "Twin Co"})
    text = ("name,account_id\nAda,acme tools\nBob,%d\n" % acme["id"])
    report = api.post(f"{API}/import/contacts", json={"csv": text}).get_json()
    assert report["created"] == 2, report
    contacts = api.get(f"{API}/contacts?account_id={acme['id']}").get_json()["items"]
    assert sorted(c["name"] for c in contacts) == ["Ada", "Bob"]

    bad = "name,account_id\nCy,Nobody Inc\nDee,Twin Co\nEd,99999999999999\n"
    refused = api.post(f"{API}/import/contacts", json={"csv": bad})
    assert refused.status_code == 422
    errors = {e["line"]: e["errors"]["account_id"][0] for e in refused.get_json()["report"]["errors"]}
    assert errors == {2: "No account is named “Nobody Inc”.",
                      3: "More than one account is named “Twin Co”: give its id.",
                      4: "99999999999999 cannot be an id."}
    # the generic import page of a record type takes names too (deals link accounts)
    page = admin.get("/crm/deals/import")
    assert "takes the linked record's id or its name" in page.get_data(as_text=True)
    imported = admin.post("/crm/deals/import", data={"text": "title,account_id\nBig order,Acme Tools\n",
                                                      "csrf_token": csrf_from(page)})
    assert imported.status_code == 200
    deals = api.get(f"{API}/deals?account_id={acme['id']}").get_json()["items"]
    assert [d["title"] for d in deals] == ["Big order"]
