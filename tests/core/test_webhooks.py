"""Outbound webhooks against a real receiver on 127.0.0.1: signed, retried, never twice."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from core import webhooks
from core.db import db
from tests.conftest import ApiClient, login, token_for


class Receiver:
    """An HTTP server that records what it receives and fails the first ``fail`` requests."""

    def __init__(self, fail: int = 0):
        self.received, self.fail = [], fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = 500 if receiver.fail > 0 else 204
                receiver.fail -= 1
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _worker_pass(app):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_subscribed_event_is_delivered_signed_and_only_once(app, receiver):
    api = ApiClient(app.test_client(), token_for(app))
    sub = api.post("/api/v1/admin/webhooks", json={"url": receiver.url, "events": ["on_account_changed"]})
    assert sub.status_code == 201
    secret = sub.get_json()["secret"]
    api.post("/api/v1/crm/accounts", json={"name": "Hooked Ltd"})

    assert "delivered 1" in _worker_pass(app)
    [(headers, body)] = receiver.received
    expected = "sha256=" + hmac.new(secret.encode(), headers["X-Tandem-Timestamp"].encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert headers["X-Tandem-Signature"] == expected
    sent = json.loads(body)
    assert sent["event"] == "on_account_changed" and sent["payload"]["name"] == "Hooked Ltd"

    _worker_pass(app)  # nothing new: nothing sent again
    assert len(receiver.received) == 1
    deliveries = api.get(f"/api/v1/admin/webhooks/{sub.get_json()['id']}/deliveries").get_json()
    assert deliveries["items"][0]["status"] == "delivered"


def test_a_failing_receiver_is_retried_with_backoff(app, receiver):
    receiver.fail = 1
    api = ApiClient(app.test_client(), token_for(app))
    api.post("/api/v1/admin/webhooks", json={"url": receiver.url, "events": ["on_account_changed"]})
    api.post("/api/v1/crm/accounts", json={"name": "Flaky Ltd"})
    assert "retry 1" in _worker_pass(app)
    with app.app_context():
        delivery = db.session.scalar(sa.select(webhooks.WebhookDelivery))
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.last_status_code == 500
        waited = (delivery.next_attempt_at - delivery.event.created_at).total_seconds()
        assert waited >= webhooks.BACKOFF_SECONDS - 1
    _worker_pass(app)  # not due yet
    assert len(receiver.received) == 1
    with app.app_context():
        webhooks.retry_now(delivery.id)
        db.session.commit()
    assert "delivered 1" in _worker_pass(app)
    assert len(receiver.received) == 2


def test_subscriptions_are_validated(api):
    bad = api.post("/api/v1/admin/webhooks", json={"url": "ftp://x", "events": ["on_nothing"]})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"url", "events"}


def test_webhooks_page_subscribes_a_url(app, receiver):
    from tests.conftest import csrf_from

    browser = login(app.test_client())
    page = browser.get("/webhooks")
    assert page.status_code == 200 and "on_account_changed" in page.get_data(as_text=True)
    done = browser.post("/webhooks", data={"url": receiver.url, "events": "on_account_changed",
                                           "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert receiver.url in done.get_data(as_text=True)


def test_the_worker_runs_the_installed_plugins_scheduled_jobs(app):
    output = _worker_pass(app)
    assert "crm.automation:" in output and "inventory.replenish:" in output
    api = ApiClient(app.test_client(), token_for(app))
    api.post("/api/v1/admin/modules/bridge/uninstall", json={})
    api.post("/api/v1/admin/modules/erp_inventory/uninstall", json={})
    assert "inventory.replenish" not in _worker_pass(app)
