"""No N+1 queries: list, detail and board pages send as many SQL statements with 20 orders as with 5.

One customer account goes through order-to-cash N times (deal, two-line quote, win,
delivery, payment), so every list grows by N rows and the account page by N orders,
invoices and deliveries in its panels. Each flow's deal and contact belong to a user of
their own, so a page that looked up owners one by one would grow too. Each page's
statement count is taken at 5 and at 20 flows: it must not change, and must stay within
the page's budget.
"""
from __future__ import annotations

import pytest

from tests.bridge.conftest import Flow, ok
from tests.conftest import ApiClient, dispose, login, make_app, token_for
from tests.statements import statements_of

SMALL, LARGE = 5, 20

#: page -> most statements it may send (login, registry and permission checks included)
PAGES = {
    # a list filtering or showing an option list's values reads the lists (one statement)
    "/crm/accounts": 8, "/crm/contacts": 9, "/crm/deals": 12, "/crm/quotes": 8,
    "/crm/activities": 9, "/crm/board": 8,
    "/crm/accounts/{account}": 22, "/crm/deals/{deal}": 14,
    "/finance/invoices": 5, "/finance/payments": 5, "/finance/customers/{customer}": 14,
    "/inventory/documents": 9, "/inventory/products/{product}": 7, "/bridge/orders": 8,
    "/api/v1/crm/deals": 6, "/api/v1/finance/invoices": 7, "/api/v1/finance/entries": 6,
    "/api/v1/inventory/documents": 8, "/api/v1/bridge/orders": 6, "/api/v1/bridge/accounts/{account}/status": 15,
}


class Book:
    """One account's order-to-cash history, grown through the API."""

    def __init__(self, api: ApiClient, app):
        self.api, self.app, self.flow, self.flows = api, app, Flow(api), 0
        self.product = self.flow.product("SC-A", "40.00", 100000)["id"]
        self.flow.product("SC-B", "15.00", 100000)
        self.account = ok(api.post("/api/v1/crm/accounts", json={"name": "Counted Ltd"}))["id"]
        self.deal = self.customer = None

    def grow_to(self, flows: int) -> None:
        while self.flows < flows:
            self._one()
            self.flows += 1

    def _one(self) -> None:
        api = self.api
        owner = self._new_user()
        deal = ok(api.post("/api/v1/crm/deals", json={"title": f"Order {self.flows}", "account_id": self.account,
                                                      "owner_id": owner}))
        ok(api.post("/api/v1/crm/contacts", json={"name": f"Pat Buyer {self.flows}",
                                                  "account_id": self.account, "owner_id": owner}))
        quote = ok(api.post("/api/v1/crm/quotes", json={"deal_id": deal["id"], "lines": [
            {"product_ref": "SC-A", "quantity": "2"}, {"product_ref": "SC-B", "quantity": "1"}]}))
        ok(api.post(f"/api/v1/crm/quotes/{quote['id']}/accept", json={}))
        ok(self.flow.win(deal["id"]))
        order = ok(api.get(f"/api/v1/bridge/deals/{deal['id']}/status"))
        delivery = ok(api.get("/api/v1/inventory/documents", query_string={"q": order["number"]}))["items"][0]
        ok(api.post(f"/api/v1/inventory/documents/{delivery['id']}/validate", json={}))
        invoice = order["invoices"][0]
        self.customer = ok(api.get(f"/api/v1/bridge/accounts/{self.account}/status"))["financial"]["customer_id"]
        ok(api.post("/api/v1/finance/payments", json={
            "customer_id": self.customer, "amount": invoice["amount"],
            "allocations": [{"invoice_id": invoice["invoice_id"], "amount": invoice["amount"]}]}))
        self.deal = self.deal or deal["id"]

    def _new_user(self) -> int:
        """A sales rep of this flow's own (straight into the table: hashing a password
        through the API would be most of the test's time)."""
        from core.auth.models import User
        from core.db import db

        with self.app.app_context():
            user = User(email=f"rep{self.flows}@example.com", name=f"Rep {self.flows}", password_hash="!")
            db.session.add(user)
            db.session.commit()
            return user.id

    def url(self, page: str) -> str:
        return page.format(account=self.account, deal=self.deal, customer=self.customer, product=self.product)


@pytest.fixture(scope="module")
def counts(databases, full_template):
    """Statements per page at SMALL and at LARGE flows: {page: (small, large, log at large)}."""
    url = databases.copy(full_template)
    app = make_app(url)
    book = Book(ApiClient(app.test_client(), token_for(app)), app)
    browser = login(app.test_client())
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(app)}"}

    def measure():
        found = {}
        for page in PAGES:
            client = api if page.startswith("/api/") else browser
            if page.startswith("/api/"):
                client.environ_base.update({"HTTP_AUTHORIZATION": headers["Authorization"]})
            client.get(book.url(page))  # warm: first visits fill per-process caches
            found[page] = statements_of(client, book.url(page), app)
        return found

    book.grow_to(SMALL)
    small = measure()
    book.grow_to(LARGE)
    large = measure()
    yield {page: (len(small[page]), len(large[page]), large[page]) for page in PAGES}
    dispose(app)
    databases.drop(url)


@pytest.mark.parametrize("page", list(PAGES))
def test_statements_do_not_grow_with_rows(counts, page):
    small, large, log = counts[page]
    print(f"\n{page}: {large} statements")  # the figures of docs/performance.md (-s)
    assert small == large, f"{page}: {small} statements with {SMALL} flows, {large} with {LARGE}:\n{log}"
    assert large <= PAGES[page], f"{page}: {large} statements, budget {PAGES[page]}:\n{log}"
