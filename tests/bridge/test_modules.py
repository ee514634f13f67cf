"""Each flow switches on and off with the optional plugins."""
from __future__ import annotations

import pytest

from tests.bridge.conftest import ok
from tests.conftest import login

PAGES = ("/bridge/links", "/bridge/orders", "/bridge/settings", "/bridge/reconcile", "/bridge/revenue",
         "/bridge/health")


@pytest.mark.parametrize("partial_app", ["crm_finance_template"], indirect=True)
def test_crm_and_finance_only(partial_app, partial_flow):
    api = partial_flow.api
    deal_id, account_id = partial_flow.deal(amount="120.00")
    ok(partial_flow.win(deal_id))
    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert order["delivery_state"] == "none" and [i["state"] for i in order["invoices"]] == ["posted"]
    assert ok(api.get("/api/v1/bridge/reconcile")) == []
    page = login(partial_app.test_client())
    for url in PAGES:
        assert page.get(url).status_code == 200, url
    assert "Financial status" in page.get(f"/crm/accounts/{account_id}").get_data(as_text=True)


@pytest.mark.parametrize("partial_app", ["crm_inventory_template"], indirect=True)
def test_crm_and_inventory_only(partial_app, partial_flow):
    api = partial_flow.api
    partial_flow.product("BR-I", "15.00", 5)
    catalog = ok(api.get("/api/v1/crm/deals"))  # CRM answers; catalogue is read by quotes
    assert catalog is not None
    deal_id, account_id = partial_flow.deal(lines=[{"product_ref": "BR-I", "quantity": "2"}])
    ok(partial_flow.win(deal_id))
    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert order["delivery_state"] == "waiting" and order["invoices"] == []
    assert order["amount"] == "30.00"  # the ERP price came from the catalogue
    assert ok(api.get("/api/v1/bridge/reconcile")) == []
    page = login(partial_app.test_client())
    for url in PAGES:
        assert page.get(url).status_code == 200, url
    html = page.get(f"/crm/accounts/{account_id}").get_data(as_text=True)
    assert "Financial status" not in html and "Orders and deliveries" in html
    view = ok(api.get("/api/v1/bridge/revenue"))
    assert view["totals"]["recognised"] is None and view["expected_payments"] == []


@pytest.mark.parametrize("partial_app", ["crm_only_template"], indirect=True)
def test_bridge_with_crm_alone(partial_app, partial_flow):
    api = partial_flow.api
    deal_id, _ = partial_flow.deal(amount="80.00")
    ok(partial_flow.win(deal_id))
    order = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    assert order["invoices"] == [] and order["amount"] == "80.00"
    refused = api.post("/api/v1/bridge/links", json={"account_id": 1})
    assert refused.status_code == 409 and refused.get_json()["code"] == "finance_not_installed"
    page = login(partial_app.test_client())
    for url in PAGES:
        assert page.get(url).status_code == 200, url
