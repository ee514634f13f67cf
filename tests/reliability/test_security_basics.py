"""Security basics, suite-wide: every state-changing form needs its CSRF token, logins are
rate-limited per account and per address, passwords are hashed with a salted scrypt, the
session cookie is HttpOnly and SameSite, and every answer (page, API, error, static file)
carries the security headers, with no inline script anywhere for the CSP to forbid.

tests/core/test_auth.py covers one form's CSRF, the rate limit for one email and the
scrypt prefix; this file covers every form and every page.
"""
import re

import sqlalchemy as sa

from core.auth.models import User
from core.db import db
from core.permissions import PUBLIC
from tests.conftest import ApiClient, create_user, csrf_from, login, token_for
from tests.reliability.test_permission_matrix import _fingerprint, _routes

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def _page_routes(app):
    with app.app_context():
        return [r for r in _routes(app) if not r[3]]


def test_every_state_changing_form_refuses_a_post_without_its_csrf_token(app):
    posts = [(url, permission) for url, method, permission, _ in _page_routes(app) if method == "POST"]
    browser = login(app.test_client())
    before = _fingerprint(app)
    accepted = [(url, status) for url, _ in posts
                if (status := browser.post(url, data={"name": "No Token"}).status_code) != 400]
    print(f"\nCSRF: {len(posts)} form routes posted without a token")
    assert not accepted, f"forms taking a POST without a CSRF token: {accepted}"
    assert _fingerprint(app) == before, "a refused form changed the database"
    assert len(posts) > 40  # the plugins' forms were found
    # public forms too (the login and lead-capture forms), without a session
    anonymous = app.test_client()
    public_posts = [url for url, permission in posts if permission == PUBLIC]
    assert public_posts and all(anonymous.post(url, data={}).status_code == 400 for url in public_posts)


def test_a_cookie_session_needs_the_csrf_token_on_the_api_too(app):
    browser = login(app.test_client())
    assert browser.post("/api/v1/crm/accounts", json={"name": "Cookie Ltd"}).status_code == 400
    token = csrf_from(browser.get("/crm/accounts/new"))
    sent = browser.post("/api/v1/crm/accounts", json={"name": "Cookie Ltd"}, headers={"X-CSRFToken": token})
    assert sent.status_code == 201


def test_the_csrf_token_of_one_session_is_refused_in_another(app):
    first, second = login(app.test_client()), login(app.test_client())
    token = csrf_from(first.get("/crm/accounts/new"))
    assert second.post("/crm/accounts/new", data={"name": "Stolen Token", "csrf_token": token}).status_code == 400


def _try_login(client, email, password, addr="10.0.0.1"):
    token = csrf_from(client.get("/login", environ_base={"REMOTE_ADDR": addr}))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": addr}).status_code


def test_login_is_rate_limited_per_address_across_accounts(app):
    create_user(app, "victim@example.com", [], password="victim-pass-123")
    client = app.test_client()
    tried = [_try_login(client, f"guess{i}@example.com", "nope", "10.9.9.9") for i in range(10)]
    assert tried == [401] * 10
    # the address is blocked, even for a right password of an account it never tried
    assert _try_login(client, "victim@example.com", "victim-pass-123", "10.9.9.9") == 429
    assert _try_login(app.test_client(), "victim@example.com", "victim-pass-123", "10.1.1.1") == 302


def test_login_is_rate_limited_per_account_across_addresses(app):
    client = app.test_client()
    tried = [_try_login(client, "admin@example.com", "nope", f"10.0.0.{i}") for i in range(10)]
    assert tried == [401] * 10
    assert _try_login(client, "admin@example.com", "admin-pass-123", "10.0.1.1") == 429


def test_passwords_are_salted_scrypt_hashes_whichever_way_the_user_was_made(app):
    create_user(app, "one@example.com", [], password="same-pass-123")
    api = ApiClient(app.test_client(), token_for(app))
    assert api.post("/api/v1/auth/users", json={"email": "two@example.com", "name": "Two",
                                                "password": "same-pass-123"}).status_code == 201
    with app.app_context():
        hashes = db.session.scalars(sa.select(User.password_hash).where(
            User.email.in_(["one@example.com", "two@example.com"]))).all()
    assert len(hashes) == 2 and hashes[0] != hashes[1]  # salted
    for hashed in hashes:
        method, _salt, _digest = hashed.split("$")
        kind, n, r, p = method.split(":")
        assert kind == "scrypt" and int(n) >= 2 ** 14 and int(r) >= 8  # OWASP's minimum work factor
        assert "same-pass-123" not in hashed


def test_the_session_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    token = csrf_from(client.get("/login"))
    response = client.post("/login", data={"email": "admin@example.com", "password": "admin-pass-123",
                                           "csrf_token": token})
    cookies = response.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith(app.config.get("SESSION_COOKIE_NAME", "session") + "=")]
    assert session, cookies
    for cookie in session:
        assert "HttpOnly" in cookie and re.search(r"SameSite=(Lax|Strict)", cookie), cookie


def _assert_security_headers(response, where):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    script = directives.get("script-src", directives.get("default-src", ""))
    assert script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, (where, csp)
    assert directives.get("frame-ancestors") in ("'none'", "'self'"), (where, csp)
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


def test_every_answer_carries_the_security_headers(app):
    browser = login(app.test_client())
    api = ApiClient(app.test_client(), token_for(app))
    for response, where in ((app.test_client().get("/login"), "login page"),
                            (browser.get("/"), "dashboard"),
                            (browser.get("/no/such/page"), "404 page"),
                            (browser.get("/finance/invoices/999999"), "missing record"),
                            (app.test_client().get("/crm/accounts"), "redirect to login"),
                            (api.get("/api/v1/crm/accounts"), "API"),
                            (app.test_client().get("/api/v1/crm/accounts"), "API 401"),
                            (browser.get("/static/core/tandem.js"), "static file")):
        _assert_security_headers(response, where)


def test_no_page_has_inline_script_or_event_handlers(app):
    """The CSP forbids inline script: a page relying on it would break, and a page that
    has none gives an injected one nothing to hide among."""
    browser = login(app.test_client())
    checked, found = 0, []
    for url, method, _permission, _ in _page_routes(app):
        if method != "GET" or "/x" in url or url.endswith(("/1", "/1/edit")):
            continue  # pages of one record need a record: see test_hostile_input
        response = browser.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        _assert_security_headers(response, url)
        text = response.get_data(as_text=True)
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL):
            found += [(url, m.group(0)[:80]) for m in pattern.finditer(text)]
        checked += 1
    print(f"\nno inline script: {checked} pages")
    assert not found, found[:20]
    assert checked > 40
