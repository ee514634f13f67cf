"""Loyalty's fixtures, built on Tandem's own test fixtures (run from a Tandem checkout).

A session template database has loyalty installed (and with it CRM, finance and the
bridge); each test gets a copy, on SQLite or, with ``TEST_DATABASE_URL``, PostgreSQL.
"""
from __future__ import annotations

import pytest

# Tandem's fixtures used here: ``databases`` (session), and ``api``/``admin``, which take
# the ``app`` defined below.
from tests.conftest import (ApiClient, admin, api, build_template, databases,  # noqa: F401
                            dispose, make_app)


@pytest.fixture(scope="session")
def loyalty_template(databases):
    url = build_template(databases, ("loyalty",))
    yield url
    databases.drop(url)


@pytest.fixture
def app(databases, loyalty_template):
    url = databases.copy(loyalty_template)
    app = make_app(url)
    yield app
    dispose(app)
    databases.drop(url)


class Books:
    """Drives CRM, the bridge and finance through their APIs, as an integrator would."""

    def __init__(self, api: ApiClient):
        self.api = api

    def ok(self, response, status=(200, 201)):
        assert response.status_code in status, (response.status_code, response.get_data(as_text=True)[:600])
        return response.get_json()

    def account(self, name: str, linked: bool = True) -> tuple[int, int | None]:
        """A CRM account and (when ``linked``) the finance customer the bridge links to it."""
        account_id = self.ok(self.api.post("/api/v1/crm/accounts", json={"name": name}))["id"]
        if not linked:
            customer = self.ok(self.api.post("/api/v1/finance/customers", json={"name": f"{name} (finance)"}))
            return account_id, customer["id"]
        link = self.ok(self.api.post("/api/v1/bridge/links", json={"account_id": account_id}))
        return account_id, link["customer_id"]

    def invoice(self, customer_id: int, amount: str) -> dict:
        """A posted invoice of one line (no tax) for ``amount``."""
        return self.ok(self.api.post("/api/v1/finance/invoices", json={
            "customer_id": customer_id, "post": True,
            "lines": [{"description": "Goods", "quantity": "1", "unit_price": amount}]}))

    def pay(self, customer_id: int, invoice: dict, amount: str | None = None) -> dict:
        amount = amount or invoice["amount_total"]
        return self.ok(self.api.post("/api/v1/finance/payments", json={
            "customer_id": customer_id, "amount": amount,
            "allocations": [{"invoice_id": invoice["id"], "amount": amount}]}))

    def credit(self, invoice: dict, amount: str | None = None) -> dict:
        """A credit note on ``invoice``: whole, or one line of ``amount``."""
        body = {} if amount is None else {"lines": [{"description": "Refund", "quantity": "1",
                                                     "unit_price": amount}]}
        return self.ok(self.api.post(f"/api/v1/finance/invoices/{invoice['id']}/credit-notes", json=body))

    def points(self, account_id: int) -> dict:
        return self.ok(self.api.get(f"/api/v1/loyalty/accounts/{account_id}"))


@pytest.fixture
def books(api) -> Books:
    return Books(api)
