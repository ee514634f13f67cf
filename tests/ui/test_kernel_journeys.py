"""Journeys through the kernel's pages in a real browser."""
from tests.conftest import ApiClient, token_for
from tests.ui.conftest import follow, shot


def test_log_in_and_see_the_dashboard(sign_in, live_server):
    page = sign_in()
    assert page.locator("nav.sidebar").get_by_text("Apps").is_visible()
    assert "Accounts by industry" in page.content()
    shot(page, "dashboard", keep=True)


def test_a_form_with_bad_input_shows_the_error_next_to_the_field(sign_in, live_server):
    page = sign_in()
    page.goto(f"{live_server}/crm/accounts/new")
    page.fill("#f-name", "Browser Test Ltd")
    page.fill("#f-domain", "not a domain")
    follow(page, "form.form button[type=submit]")
    domain = page.locator("#f-domain")
    assert domain.get_attribute("aria-invalid") == "true"
    error_id = domain.get_attribute("aria-describedby").split()[0]
    assert page.locator(f"#{error_id}").inner_text().endswith("Enter a domain like example.com.")
    assert page.input_value("#f-name") == "Browser Test Ltd"  # what was typed is kept
    shot(page, "form-error", keep=True)


def test_uninstall_inventory_hides_its_menu_and_reinstall_finds_the_data(sign_in, live_server, ui_app):
    api = ApiClient(ui_app.test_client(), token_for(ui_app))
    deal = api.post("/api/v1/crm/deals", json={"title": "Stocked deal", "amount": "10.00"}).get_json()
    assert api.post(f"/api/v1/crm/deals/{deal['id']}/win", json={}).status_code == 200
    order_panel = f"{live_server}/crm/deals/{deal['id']}"
    page = sign_in()
    page.goto(order_panel)
    assert page.locator("section.panel dt", has_text="Delivery").count() == 1
    page.goto(f"{live_server}/inventory/products/new")
    page.fill("#f-sku", "UI-1")
    page.fill("#f-name", "Browser widget")
    follow(page, "form.form button[type=submit]")
    assert "saved" in page.content()

    page.goto(f"{live_server}/apps")
    follow(page, 'a[href="/apps/erp_inventory/uninstall"]')
    page.once("dialog", lambda dialog: dialog.accept())
    follow(page, page.get_by_role("button", name="Uninstall"))
    assert page.url == f"{live_server}/apps"
    assert "its data is kept" in page.content()
    assert page.locator("nav.sidebar").get_by_text("Products").count() == 0
    shot(page, "apps-after-uninstall", keep=True)
    assert page.goto(f"{live_server}/inventory/products").status == 404
    page.goto(order_panel)  # the deal's order no longer speaks of deliveries
    assert page.locator("section.panel dt", has_text="Delivery").count() == 0

    page.goto(f"{live_server}/apps")
    follow(page, 'form[action="/apps/erp_inventory/install"] button')
    assert page.url == f"{live_server}/apps"
    assert page.locator("nav.sidebar").get_by_text("Products").count() == 1
    page.goto(f"{live_server}/inventory/products")
    assert "Browser widget" in page.content()
    page.goto(order_panel)
    assert page.locator("section.panel dt", has_text="Delivery").count() == 1


def test_a_user_without_finance_permission_sees_no_finance_menu_and_gets_403(sign_in, live_server):
    page = sign_in("rep@example.com", "rep-pass-123")
    assert page.locator("nav.sidebar").get_by_text("Customers").count() == 0
    assert page.locator("nav.sidebar").get_by_text("Accounts").count() == 1
    response = page.goto(f"{live_server}/finance/customers")
    assert response.status == 403
    shot(page, "forbidden")


def test_phone_width_has_no_horizontal_scroll(sign_in, live_server, page):
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in()
    page.goto(f"{live_server}/crm/accounts")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "phone-accounts", keep=True)


def test_dashboard_charts_are_drawn_from_vendored_files(sign_in, live_server):
    page = sign_in()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.reload()
    canvas = page.locator("figure.chart canvas").first
    canvas.wait_for()
    assert page.evaluate("typeof window.Chart") == "function"
    assert canvas.bounding_box()["width"] > 100
    assert all(url.startswith(live_server) for url in requests)  # nothing from a CDN
