"""Sales journeys in a real browser: a lead from the public form, converted, its deal
dragged to Won on the board."""
import re

from tests.ui.conftest import follow, shot


def test_public_lead_form_then_convert_then_drag_the_deal_to_won(page, sign_in, live_server):
    page.context.clear_cookies()
    page.goto(f"{live_server}/crm/lead-form")
    page.fill("#f-name", "Robin Browser")
    page.fill("#f-email", "robin@browserco.example")
    page.fill("#f-company", "BrowserCo")
    follow(page, "form.form button[type=submit]")
    assert "Thank" in page.content() or "thank" in page.content()
    shot(page, "lead-form-sent")

    sign_in()
    page.goto(f"{live_server}/crm/leads?q=Robin")
    follow(page, page.get_by_role("link", name=re.compile("Robin Browser")).first)
    page.check("#f-create_deal")
    page.fill("#f-deal_title", "BrowserCo starter pack")
    page.fill("#f-amount", "1200")
    follow(page, page.get_by_role("button", name="Convert lead"))
    assert "Converted" in page.content() or "converted" in page.content()

    page.goto(f"{live_server}/crm/board")
    card = page.locator(".board-card", has_text="BrowserCo starter pack")
    won = page.locator(".board-column", has=page.locator(".board-column-header", has_text="Won"))
    # HTML5 drag and drop, event by event (headless Chromium gives no native drag gesture)
    transfer = page.evaluate_handle("() => new DataTransfer()")
    card.dispatch_event("dragstart", {"dataTransfer": transfer})
    won.dispatch_event("dragover", {"dataTransfer": transfer})
    with page.expect_response("**/crm/board/move") as moved:  # the server saves and validates
        won.dispatch_event("drop", {"dataTransfer": transfer})
    assert moved.value.ok
    card.dispatch_event("dragend", {"dataTransfer": transfer})
    page.wait_for_function(
        "() => [...document.querySelectorAll('.board-column')].some(c => c.textContent.includes('Won') "
        "&& c.textContent.includes('BrowserCo starter pack'))")
    shot(page, "board-after-win", keep=True)
    page.reload()
    assert won.locator(".board-card", has_text="BrowserCo starter pack").count() == 1


def test_typing_in_a_relation_finds_an_account_the_select_does_not_list(sign_in, live_server, ui_app):
    """More accounts than a contact form's select lists: typing finds the one wanted."""
    import sqlalchemy as sa

    from core.db import db, transaction
    from core.records import CHOICES_SHOWN
    from plugins.crm.models import Account

    with ui_app.app_context(), transaction():
        db.session.execute(sa.insert(Account), [{"name": f"Yonder branch {i:03}"} for i in range(CHOICES_SHOWN + 10)])
        db.session.add(Account(name="Zeta Logistics"))
    page = sign_in()
    page.goto(f"{live_server}/crm/contacts/new")
    page.fill("#f-name", "Zoe Browser")
    assert page.locator("#f-account_id option", has_text="Zeta Logistics").count() == 0
    with page.expect_response("**/crm/accounts/choices?q=zeta"):
        page.fill("#f-account_id-search", "zeta")
    page.wait_for_function("() => document.querySelector('#f-account_id').selectedOptions[0].text === 'Zeta Logistics'")
    shot(page, "relation-search")
    page.press("#f-account_id-search", "ArrowDown")
    assert page.evaluate("document.activeElement.id") == "f-account_id"
    follow(page, "form.form button[type=submit]")
    assert "Zoe Browser" in page.content() and "Zeta Logistics" in page.content()
