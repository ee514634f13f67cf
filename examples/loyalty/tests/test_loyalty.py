"""Loyalty inside Tandem: points from paid invoices, the panel, the API, the widget,
permissions, demo data, uninstall and reinstall."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core import lifecycle
from core.db import db, transaction
from tandem_loyalty.services import points_for
from tests.conformance import check_plugin
from tests.conftest import ApiClient, create_user, login, token_for


def test_conformance(app):
    check_plugin(app, "loyalty")


@pytest.mark.parametrize("amount, points", [("99.99", 99), ("100.00", 100), ("0.99", 0),
                                            ("1234.50", 1234), ("0.00", 0)])
def test_one_point_per_whole_currency_unit_rounded_down(amount, points):
    assert points_for(Decimal(amount)) == points


def test_a_paid_invoice_earns_its_account_points_once(books):
    account_id, customer_id = books.account("Harbour Bakery")
    invoice = books.invoice(customer_id, "250.75")
    books.pay(customer_id, invoice, "100.00")
    assert books.points(account_id)["points"] == 0  # partly paid: nothing yet

    second = books.pay(customer_id, invoice, "150.75")
    found = books.points(account_id)
    assert (found["points"], found["invoices"]) == (250, 1)
    assert [(e["document"], e["reason"], e["points"]) for e in found["entries"]] == [
        (invoice["number"], "earned", 250)]

    # the payment is cancelled and the invoice paid again: a second "paid" event, no new points
    books.ok(books.api.post(f"/api/v1/finance/payments/{second['id']}/cancel", json={}))
    books.pay(customer_id, invoice, "150.75")
    assert books.points(account_id)["points"] == 250


def test_the_same_paid_event_twice_awards_once(app, books):
    from plugins.erp_finance.hookspecs import InvoicePaid
    from tandem_loyalty.services import earn_for_paid_invoice

    account_id, customer_id = books.account("Cedar Books")
    event = InvoicePaid(invoice_id=4242, number="INV/X/1", customer_id=customer_id,
                        amount_total=Decimal("10.50"), currency="EUR", paid_on=None, actor_id=None)
    with app.app_context(), transaction():
        assert earn_for_paid_invoice(event).points == 10
        assert earn_for_paid_invoice(event) is None
    assert books.points(account_id)["points"] == 10


def test_credit_notes_take_points_back_but_never_more_than_earned(books):
    account_id, customer_id = books.account("Northwind Florist")
    paid = books.invoice(customer_id, "300.60")
    books.pay(customer_id, paid)
    books.credit(paid, "100.30")  # a partial refund after payment
    assert books.points(account_id)["points"] == 300 - 100

    early = books.invoice(customer_id, "80.00")
    books.credit(early, "30.50")  # credited before it is paid: counts once it is
    assert books.points(account_id)["points"] == 200
    books.pay(customer_id, early, "49.50")
    assert books.points(account_id)["points"] == 200 + 80 - 30

    never_paid = books.invoice(customer_id, "500.00")
    books.credit(never_paid, "40.00")
    whole = books.invoice(customer_id, "60.00")
    books.credit(whole)  # fully credited: "paid" by the credit note, earns and loses 60
    found = books.points(account_id)
    assert (found["points"], found["invoices"]) == (250, 3)


def test_invoices_of_customers_without_a_crm_account_earn_nothing(books):
    account_id, customer_id = books.account("Unlinked Ltd", linked=False)
    books.pay(customer_id, books.invoice(customer_id, "99.00"))
    assert books.points(account_id)["points"] == 0
    assert books.ok(books.api.get("/api/v1/loyalty/accounts"))["total"] == 0


def test_api_lists_accounts_by_points_and_refuses_bad_input(books):
    for name, amount in (("Alpha", "10.00"), ("Bravo", "30.00"), ("Charlie", "20.00")):
        _, customer_id = books.account(name)
        books.pay(customer_id, books.invoice(customer_id, amount))
    listing = books.ok(books.api.get("/api/v1/loyalty/accounts"))
    assert [(r["account_name"], r["points"]) for r in listing["items"]] == [
        ("Bravo", 30), ("Charlie", 20), ("Alpha", 10)]
    by_name = books.ok(books.api.get("/api/v1/loyalty/accounts",
                                     query_string={"sort": "account_name", "min_points": 15}))
    assert [r["account_name"] for r in by_name["items"]] == ["Bravo", "Charlie"]
    assert books.ok(books.api.get("/api/v1/loyalty/accounts", query_string={"q": "arl"}))["total"] == 1

    assert books.api.get("/api/v1/loyalty/accounts", query_string={"sort": "secret"}).status_code == 422
    assert books.api.get("/api/v1/loyalty/accounts", query_string={"colour": "red"}).status_code == 422
    assert books.api.get("/api/v1/loyalty/accounts", query_string={"per_page": "x"}).status_code == 422
    assert books.api.get("/api/v1/loyalty/accounts/999999").status_code == 404


def test_the_api_is_in_the_openapi_document(app):
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert {"/api/v1/loyalty/accounts", "/api/v1/loyalty/accounts/{account_id}"} <= set(paths)
    assert "loyalty.points.read" in paths["/api/v1/loyalty/accounts"]["get"]["description"]


def test_panel_page_and_menu_for_those_who_may_see_points(app, admin, books):
    account_id, customer_id = books.account("Panel Ltd")
    books.pay(customer_id, books.invoice(customer_id, "42.90"))
    html = admin.get(f"/crm/accounts/{account_id}").get_data(as_text=True)
    assert "Loyalty points" in html and "42 points" in html
    listing = admin.get("/loyalty/")
    assert listing.status_code == 200 and "Panel Ltd" in listing.get_data(as_text=True)
    assert 'href="/loyalty/"' in admin.get("/").get_data(as_text=True)
    assert "secret" in admin.get("/loyalty/?sort=secret").get_data(as_text=True)  # shown, not a 500

    create_user(app, "clerk@example.com", ["Accountant"])  # sees accounts, not loyalty points
    clerk = login(app.test_client(), "clerk@example.com", "user-pass-123")
    assert clerk.get("/loyalty/").status_code == 403
    assert 'href="/loyalty/"' not in clerk.get("/").get_data(as_text=True)
    clerk_api = ApiClient(app.test_client(), token_for(app, "clerk@example.com"))
    assert clerk_api.get("/api/v1/loyalty/accounts").status_code == 403
    assert clerk_api.get(f"/api/v1/loyalty/accounts/{account_id}").status_code == 403

    create_user(app, "rep@example.com", ["Sales rep"])  # offered loyalty.points.read at install
    rep = login(app.test_client(), "rep@example.com", "user-pass-123")
    assert rep.get("/loyalty/").status_code == 200


def test_demo_data_fills_the_dashboard_widget(app, admin):
    from tandem_loyalty.demo import load

    with app.app_context(), transaction():
        load(lambda n: None)
    home = admin.get("/").get_data(as_text=True)
    assert "Top accounts by loyalty points" in home
    top = home[home.index("Top accounts by loyalty points"):]
    # 12 x 84.50 + 3 x 129.99 = 1014 + 389; 2 x 250 + 4 x 75.25 = 500 + 301; 40 x 19.90 = 796
    assert top.index("Harbour Bakery") < top.index("Northwind Florist") < top.index("Cedar Books")
    assert "1403" in top and "801" in top and "796" in top


def test_uninstall_keeps_the_points_and_purge_drops_them(app, books):
    account_id, customer_id = books.account("Kept Ltd")
    books.pay(customer_id, books.invoice(customer_id, "12.00"))
    with app.app_context(), transaction():
        lifecycle.uninstall("loyalty")
    assert books.api.get(f"/api/v1/loyalty/accounts/{account_id}").status_code == 404
    with app.app_context(), transaction():
        lifecycle.install("loyalty")
    assert books.points(account_id)["points"] == 12

    with app.app_context(), transaction():
        lifecycle.uninstall("loyalty", purge=True)
        assert not sa.inspect(db.session.connection()).has_table("loyalty_points_entry")
    # finance keeps working without the plugin: paying another invoice does not need it
    books.pay(customer_id, books.invoice(customer_id, "5.00"))
