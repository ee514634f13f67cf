"""DATABASE_URL_READONLY: list pages and reports read from the replica, writes go to the primary.

The "replica" here is a second copy of the full database that the test makes differ
from the primary, so every read shows which database answered it.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db, read_session
from tests.conftest import ApiClient, dispose, login, make_app, token_for


@pytest.fixture
def primary_and_replica(databases, full_template):
    primary, replica = databases.copy(full_template), databases.copy(full_template)
    seed = make_app(replica)
    client = ApiClient(seed.test_client(), token_for(seed))
    assert client.post("/api/v1/crm/accounts", json={"name": "Only On Replica"}).status_code == 201
    assert client.post("/api/v1/crm/deals", json={"title": "Replica deal", "amount": "700.00",
                                                  "currency": "EUR"}).status_code == 201
    dispose(seed)
    app = make_app(primary, TANDEM_READONLY_DATABASE_URI=replica)
    yield app, replica
    dispose(app)
    app.extensions["tandem.read_engine"].dispose()
    databases.drop(primary)
    databases.drop(replica)


def test_list_pages_and_reports_read_the_replica_while_writes_go_to_the_primary(primary_and_replica):
    app, replica_url = primary_and_replica
    api = ApiClient(app.test_client(), token_for(app))
    created = api.post("/api/v1/crm/accounts", json={"name": "Only On Primary"})
    assert created.status_code == 201
    account_id = created.get_json()["id"]

    names = [a["name"] for a in api.get("/api/v1/crm/accounts", query_string={"per_page": 200}).get_json()["items"]]
    assert "Only On Replica" in names and "Only On Primary" not in names
    page = login(app.test_client())
    html = page.get("/crm/accounts?q=Only").get_data(as_text=True)
    assert "Only On Replica" in html and "Only On Primary" not in html
    pipeline = api.get("/api/v1/crm/reports/pipeline").get_json()["rows"]
    assert [(r["count"], r["value"]) for r in pipeline] == [(1, "700.00")]

    # the record itself, and every write, is on the primary
    assert api.get(f"/api/v1/crm/accounts/{account_id}").get_json()["name"] == "Only On Primary"
    replica = sa.create_engine(replica_url)
    with replica.connect() as conn:
        assert conn.execute(sa.text("select count(*) from crm_account where name = 'Only On Primary'")).scalar() == 0
    replica.dispose()


def test_writing_requests_and_jobs_read_the_primary_and_the_replica_refuses_writes(primary_and_replica):
    app, _ = primary_and_replica
    with app.test_request_context(method="POST"):
        assert read_session() is db.session
    with app.app_context():
        assert read_session() is db.session  # CLI commands and scheduled jobs
    with app.test_request_context():
        session = read_session()
        assert session is not db.session and session is read_session()
        with pytest.raises(sa.exc.DBAPIError):
            session.execute(sa.text("update crm_account set name = 'x'"))


def test_without_a_replica_everything_reads_the_primary(app):
    with app.test_request_context():
        assert read_session() is db.session
