"""Real-browser tests: Playwright driving Debian's Chromium against a live server.

Without /usr/bin/chromium the tests are skipped on a developer's machine, and fail
when TANDEM_REQUIRE_BROWSER=1 (set by .ci/run): in CI a missing browser is an error.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, create_user, dispose, make_app

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
RESULTS = Path(__file__).parents[2] / "test-results"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("TANDEM_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"browser tests need {CHROMIUM} (apt-get install chromium)")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed")
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync"]}


@pytest.fixture(scope="session")
def ui_app(databases, full_template):
    """One app for the browser journeys, on its own copy of the full database."""
    url = databases.copy(full_template)
    app = make_app(url)
    create_user(app, "rep@example.com", ["Sales rep"], password="rep-pass-123")
    yield app
    dispose(app)
    databases.drop(url)


@pytest.fixture(scope="session")
def live_server(ui_app):
    server = make_server("127.0.0.1", 0, ui_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def sign_in(page, live_server):
    """Log ``page`` in through the login form."""

    def sign_in_as(email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
        page.context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.fill("#f-email", email)
        page.fill("#f-password", password)
        follow(page, "button[type=submit]")
        assert page.url == f"{live_server}/", page.url
        return page

    return sign_in_as


def follow(page, target) -> None:
    """Click ``target`` (a locator or a selector) and wait until the page it leads to has
    loaded. A bare click returns once the click is dispatched, and reading the page right
    after it can catch the old page or an empty document in between."""
    with page.expect_navigation():
        (page.locator(target) if isinstance(target, str) else target).click()


def shot(page, name: str, keep: bool = False) -> None:
    """Save a screenshot of the journey in test-results/; with ``keep`` and
    TANDEM_UPDATE_SCREENSHOTS=1 also refresh its copy in docs/screenshots (the README's)."""
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)
    if keep and os.environ.get("TANDEM_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
