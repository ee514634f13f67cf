"""Quote-to-cash journeys across CRM and the ERP side in a real browser: the won deal's
order and invoice on its page, a payment posted by the accountant, "paid" seen by the rep
on the account page, and a case resolved with a credit showing its credit note."""
import re

import pytest

from tests.conftest import ApiClient, create_user, token_for
from tests.ui.conftest import follow, shot


@pytest.fixture(scope="module")
def story(ui_app):
    """A rep's account and open deal, and the people of the story (rep, accountant)."""
    create_user(ui_app, "rep.ui@example.com", ["Sales rep", "Integration viewer"], password="rep-pass-123")
    create_user(ui_app, "accountant@example.com", ["Accountant"], password="acct-pass-123")
    api = ApiClient(ui_app.test_client(), token_for(ui_app))
    with ui_app.app_context():
        from core.auth.services import user_by_email

        rep_id = user_by_email("rep.ui@example.com").id
    account = api.post("/api/v1/crm/accounts", json={"name": "Journey Tools Ltd", "owner_id": rep_id,
                                                     "domain": "journeytools.example"}).get_json()
    deal = api.post("/api/v1/crm/deals", json={"title": "Journey Tools kit", "account_id": account["id"],
                                               "owner_id": rep_id, "amount": "240.00"}).get_json()
    return {"account": account, "deal": deal}


def test_won_deal_paid_by_the_accountant_shows_paid_to_the_rep(sign_in, live_server, story):
    deal, account = story["deal"], story["account"]
    page = sign_in()
    page.goto(f"{live_server}/crm/deals/{deal['id']}")
    follow(page, page.get_by_role("button", name="Mark won"))
    panel = page.locator("section.panel", has=page.get_by_role("heading", name="Order"))
    assert re.search(r"SO-\d+", panel.inner_text())
    invoice_number = panel.get_by_role("link", name=re.compile(r"^INV")).inner_text()
    assert "posted" in panel.inner_text()
    shot(page, "deal-won-with-order", keep=True)

    sign_in("accountant@example.com", "acct-pass-123")
    page.goto(f"{live_server}/finance/invoices?q={invoice_number}")
    follow(page, page.get_by_role("link", name=invoice_number).first)
    follow(page, page.get_by_role("link", name="Register payment"))
    follow(page, page.locator("form button[type=submit]").last)
    assert "registered" in page.content()
    shot(page, "payment-registered")

    sign_in("rep.ui@example.com", "rep-pass-123")
    page.goto(f"{live_server}/crm/accounts/{account['id']}")
    financial = page.locator("section.panel", has=page.get_by_role("heading", name="Financial status"))
    assert "(all paid)" in financial.inner_text()
    orders = page.locator("section.panel", has=page.get_by_role("heading", name="Orders and deliveries"))
    assert "paid" in orders.inner_text()
    shot(page, "account-paid-as-rep", keep=True)


def test_a_case_resolved_with_a_credit_shows_its_credit_note(sign_in, live_server, story):
    page = sign_in()
    page.goto(f"{live_server}/crm/deals/{story['deal']['id']}")
    invoice_links = page.locator("section.panel").get_by_role("link", name=re.compile(r"^INV"))
    if invoice_links.count() == 0:  # this test alone: win the deal first
        follow(page, page.get_by_role("button", name="Mark won"))
    invoice_number = invoice_links.first.inner_text()

    page.goto(f"{live_server}/crm/cases/new")
    page.fill("#f-subject", "Two units arrived damaged")
    page.select_option("#f-account_id", str(story["account"]["id"]))
    follow(page, "form.form button[type=submit]")
    page.fill("#resolution", "Agreed a refund for the damaged units.")
    page.check("#credit-mode-amount")
    page.select_option("#credit-invoice",
                       page.locator("#credit-invoice option", has_text=invoice_number).get_attribute("value"))
    page.fill("#credit-amount", "20.00")
    page.fill("#credit-reason", "Two units arrived damaged")
    follow(page, page.get_by_role("button", name="Resolve"))
    panel = page.locator("section.panel", has=page.get_by_role("heading", name="Credit note"))
    assert re.search(r"Credit note \S+: 20\.00 EUR \(posted in finance\)", panel.inner_text())
    shot(page, "case-credit-note", keep=True)


def test_a_refused_move_on_the_board_snaps_back_with_the_reason(sign_in, live_server, ui_app):
    api = ApiClient(ui_app.test_client(), token_for(ui_app))
    account = api.post("/api/v1/crm/accounts", json={"name": "Overdrawn Ltd"}).get_json()
    first = api.post("/api/v1/crm/deals", json={"title": "Overdrawn first order", "account_id": account["id"],
                                                "amount": "100.00"}).get_json()
    assert api.post(f"/api/v1/crm/deals/{first['id']}/win", json={}).status_code == 200
    link = next(l for l in api.get("/api/v1/bridge/links").get_json() if l["account_id"] == account["id"])
    api.patch(f"/api/v1/finance/customers/{link['customer_id']}", json={"credit_limit": "150.00"})
    api.post("/api/v1/crm/deals", json={"title": "Overdrawn second order", "account_id": account["id"],
                                        "amount": "100.00"})

    page = sign_in()
    page.goto(f"{live_server}/crm/board")
    card = page.locator(".board-card", has_text="Overdrawn second order")
    start = page.locator(".board-column", has=card)
    start_stage = start.get_attribute("data-stage-id")
    won = page.locator(".board-column", has=page.locator(".board-column-header", has_text="Won"))
    transfer = page.evaluate_handle("() => new DataTransfer()")
    card.dispatch_event("dragstart", {"dataTransfer": transfer})
    won.dispatch_event("dragover", {"dataTransfer": transfer})
    with page.expect_response("**/crm/board/move") as moved:
        won.dispatch_event("drop", {"dataTransfer": transfer})
    assert moved.value.status == 409
    status = page.locator("#board-status")
    status.wait_for()
    page.wait_for_function("() => document.querySelector('#board-status').textContent.includes('Not moved')")
    assert "credit limit" in status.inner_text()
    assert page.locator(f".board-column[data-stage-id='{start_stage}'] .board-card",
                        has_text="Overdrawn second order").count() == 1  # snapped back
    shot(page, "board-refused-move")
