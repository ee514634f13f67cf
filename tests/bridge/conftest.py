"""Bridge fixtures: API helpers that drive CRM, finance and inventory like an integrator."""
from __future__ import annotations

import pytest

from tests.conftest import ApiClient, build_template, dispose, make_app, token_for


def ok(response, status=(200, 201)):
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:800])
    return response.get_json()


class Flow:
    """Steps of the quote-to-cash story, each one API call (or two)."""

    def __init__(self, api: ApiClient):
        self.api = api

    def product(self, sku, price, on_hand):
        product = ok(self.api.post("/api/v1/inventory/products", json={
            "sku": sku, "name": f"Product {sku}", "sale_price": str(price), "type": "stockable"}))
        if on_hand:
            found = ok(self.api.get("/api/v1/inventory/warehouses"))["items"]
            warehouse = found[0]["id"] if found else ok(self.api.post(
                "/api/v1/inventory/warehouses", json={"code": "WH", "name": "Main"}))["id"]
            doc = ok(self.api.post("/api/v1/inventory/documents", json={
                "kind": "adjustment", "warehouse_id": warehouse, "lines": [{"product_id": product["id"], "quantity": str(on_hand)}]}))
            ok(self.api.post(f"/api/v1/inventory/documents/{doc['id']}/validate", json={}))
        return product

    def deal(self, company="Acme Tools Ltd", email="jo@acmetools.example", amount=None, lines=None):
        lead = ok(self.api.post("/api/v1/crm/leads", json={"name": "Jo Buyer", "company": company,
                                                           "email": email}))
        lead = ok(self.api.post(f"/api/v1/crm/leads/{lead['id']}/convert", json={
            "create_deal": True, "amount": str(amount or "0.00"), "currency": "EUR"}))
        if lines:
            quote = ok(self.api.post("/api/v1/crm/quotes", json={"deal_id": lead["deal_id"], "lines": lines}))
            ok(self.api.post(f"/api/v1/crm/quotes/{quote['id']}/accept", json={}))
        return lead["deal_id"], lead["account_id"]

    def win(self, deal_id, **body):
        return self.api.post(f"/api/v1/crm/deals/{deal_id}/win", json=body)


@pytest.fixture
def flow(api) -> Flow:
    return Flow(api)


def _app_with(databases, template):
    url = databases.copy(template)
    app = make_app(url)
    return app, url


@pytest.fixture(scope="session")
def crm_finance_template(databases):
    url = build_template(databases, ("crm", "erp_finance", "bridge"))
    yield url
    databases.drop(url)


@pytest.fixture(scope="session")
def crm_inventory_template(databases):
    url = build_template(databases, ("crm", "erp_inventory", "bridge"))
    yield url
    databases.drop(url)


@pytest.fixture(scope="session")
def crm_only_template(databases):
    url = build_template(databases, ("bridge",))
    yield url
    databases.drop(url)


@pytest.fixture
def partial_app(request, databases):
    """An app on crm+bridge plus the ERP side named by the test's parameter."""
    template = request.getfixturevalue(request.param)
    app, url = _app_with(databases, template)
    yield app
    dispose(app)
    databases.drop(url)


@pytest.fixture
def partial_flow(partial_app) -> Flow:
    return Flow(ApiClient(partial_app.test_client(), token_for(partial_app)))
