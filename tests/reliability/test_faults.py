"""Faults: a won deal's hand-off failing at any step leaves no trace, and a database error
in the middle of a request rolls back and answers a clean, retryable error.

Backups (``tandem backup`` / ``tandem restore`` with a verifying ledger) are in
tests/core/test_backup.py.
"""
from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa

from core.db import db
from tests.bridge.conftest import Flow, ok
from tests.reliability.checks import broken_chains, deal_outcomes, drift, orphans, row_counts

# step of the hand-off -> the call that is made to fail once it has written its rows
STEPS = {
    "order": ("plugins.bridge.deals", "_new_order"),
    "reservation": ("plugins.erp_inventory.services", "reserve_stock"),
    "delivery": ("plugins.erp_inventory.services", "create_delivery"),
    "invoice": ("plugins.erp_finance.services", "post_invoice"),
}


@pytest.fixture
def flow(api) -> Flow:
    return Flow(api)


def _failing_after_its_writes(monkeypatch, module_name: str, name: str) -> list[int]:
    """Make ``module.name`` do its work, flush it, then raise; returns a list that counts calls."""
    module = importlib.import_module(module_name)
    real, calls = getattr(module, name), []

    def fails(*args, **kwargs):
        real(*args, **kwargs)
        db.session.flush()
        calls.append(1)
        raise RuntimeError(f"{name} broke after writing")

    monkeypatch.setattr(module, name, fails)
    return calls


@pytest.mark.parametrize("step", STEPS)
def test_a_handoff_step_failing_leaves_no_trace(app, api, flow, monkeypatch, step):
    flow.product("FLT-1", "20.00", 5)
    deal_id, _ = flow.deal(company="Fail Co", email="a@fail.example",
                           lines=[{"product_ref": "FLT-1", "quantity": "2"}])
    before = row_counts(app)
    calls = _failing_after_its_writes(monkeypatch, *STEPS[step])

    refused = flow.win(deal_id)

    assert calls, f"the {step} step was never reached"
    assert refused.status_code == 409, refused.get_data(as_text=True)
    body = refused.get_json()
    assert f"{step}: RuntimeError: {STEPS[step][1]} broke" in body["message"], body
    assert body["message"].startswith("bridge could not handle on_deal_won")
    assert row_counts(app) == before  # no order, reservation, delivery, invoice, customer, event
    assert deal_outcomes(app, [deal_id]) == {deal_id: "open"}
    assert orphans(app) == [] and drift(app) == []

    monkeypatch.undo()  # the step works again: the same win goes through in full
    assert ok(flow.win(deal_id))["status"] == "won"
    assert deal_outcomes(app, [deal_id]) == {deal_id: "won"}
    assert drift(app) == [] and broken_chains(app) == []


def _connection_lost(*_args, **_kwargs):
    raise sa.exc.OperationalError("INSERT INTO finance_journal_entry ...", {},
                                  Exception("server closed the connection unexpectedly"))


def test_a_database_error_mid_request_rolls_back_and_answers_cleanly(app, api, monkeypatch):
    from plugins.erp_finance import ledger
    from plugins.erp_finance.models import Invoice

    customer = ok(api.post("/api/v1/finance/customers", json={"name": "Flaky Ltd", "currency": "EUR"}))
    invoice = {"customer_id": customer["id"], "post": True,
               "lines": [{"description": "Work", "quantity": "2", "unit_price": "75.00"}]}
    before = row_counts(app)
    written = []

    def lost_after_writing(date):
        written.append(db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)))
        _connection_lost()

    monkeypatch.setattr(ledger, "check_lock_date", lost_after_writing)  # called while posting the entry
    key = {"Idempotency-Key": "flaky-invoice-1"}
    answer = api.post("/api/v1/finance/invoices", json=invoice, headers=key)

    assert written == [1], "the invoice was not written before the error"
    assert answer.status_code == 503, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["code"] == "database_unavailable" and "nothing was saved" in body["message"]
    assert "server closed" not in answer.get_data(as_text=True)  # no driver internals leak out
    assert answer.headers["Retry-After"]
    assert row_counts(app) == before

    monkeypatch.undo()  # the database is back: the retry with the same key does the work once
    retried = api.post("/api/v1/finance/invoices", json=invoice, headers=key)
    assert retried.status_code == 201, retried.get_data(as_text=True)
    assert retried.get_json()["state"] == "posted" and retried.get_json()["amount_total"] == "150.00"
    assert ok(api.get("/api/v1/finance/invoices"))["total"] == 1
    assert broken_chains(app) == []


def test_a_database_error_on_a_form_answers_an_error_page_and_saves_nothing(app, admin, monkeypatch):
    from plugins.crm import services as crm
    from tests.conftest import csrf_from

    token = csrf_from(admin.get("/crm/accounts/new"))
    before = row_counts(app)
    monkeypatch.setattr(crm, "emit", _connection_lost)  # the account is written, then the event fails
    page = admin.post("/crm/accounts/new", data={"name": "Half Written Ltd", "csrf_token": token})
    assert page.status_code == 503
    assert "nothing was saved" in page.get_data(as_text=True)
    assert row_counts(app) == before
