"""Every route of every installed plugin, enumerated from the URL map, against the
permission it declares: unauthenticated, a user with no permission, a user with
exactly that permission, and each default role. Generated from the declarations, so a
new route is covered (and a route without a permission fails) without editing this.
A refused write must leave the database exactly as it was.
"""
import hashlib
import re

import pytest
import sqlalchemy as sa

from core.auth import services as auth
from core.db import db, transaction
from core.permissions import LOGGED_IN, PUBLIC, permission_of
from tests.conftest import csrf_from, login, token_for

ARG = re.compile(r"<(?:(\w+):)?(\w+)>")
SAMPLE = {"int": "1", "path": "x", None: "x"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _routes(app):
    """(url, method, permission, is_api) for every route of an installed plugin."""
    registry = app.extensions["tandem"]
    registry.sync(db.session)  # which plugins are installed is read per request; no request yet
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        owner = registry.blueprint_owner.get(rule.endpoint.split(".", 1)[0])
        if owner is None or not registry.is_installed(owner):
            continue
        url = ARG.sub(lambda m: SAMPLE.get(m.group(1), "x"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            permission = permission_of(app.view_functions[rule.endpoint], method)
            found.append((url, method, permission, rule.rule.startswith("/api/")))
    return found


def _call(client, method, url, headers=None):
    return client.open(url, method=method, json={} if method in WRITES else None, headers=headers or {})


# written by any login try, refused or not
VOLATILE = {"core_login_attempt": None}


def _fingerprint(app) -> dict:
    """Row count and a checksum of every row of every table (a refused PATCH changes no count)."""
    with app.app_context():
        fingerprint = {}
        metadata = sa.MetaData()
        metadata.reflect(db.engine)
        for name, table in sorted(metadata.tables.items()):
            if name in VOLATILE and VOLATILE[name] is None:
                continue
            columns = [c for c in table.columns if c.name not in (VOLATILE.get(name) or ())]
            rows = db.session.execute(sa.select(*columns)).all()
            fingerprint[name] = (len(rows), hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest())
        db.session.rollback()
        return fingerprint


@pytest.fixture
def routes(app):
    with app.app_context():
        return _routes(app)


def test_every_route_declares_a_known_permission(app, routes):
    declared = {p.name for p in app.extensions["tandem"].permissions}
    undeclared = [(u, m) for u, m, p, _ in routes if p is None]
    unknown = [(u, m, p) for u, m, p, _ in routes if p not in (None, PUBLIC, LOGGED_IN) and p not in declared]
    assert not undeclared, f"routes without a permission: {undeclared}"
    assert not unknown, f"routes needing a permission no plugin declares: {unknown}"
    assert len(routes) > 80  # the enumeration found the plugins' routes


def test_unauthenticated_calls_get_401_or_the_login_page(app, routes):
    client = app.test_client()
    wrong = []
    for url, method, permission, is_api in routes:
        if permission == PUBLIC:
            continue
        status = _call(client, method, url).status_code
        expected = 401 if is_api else 302
        if status != expected:
            wrong.append((method, url, status))
    assert not wrong


def _role_users(app) -> dict[str, list[str]]:
    """One user per role (plus one with no permission at all); email -> role's permissions."""
    from core.auth.models import Role

    users = {}
    with app.app_context(), transaction():
        auth.ensure_role("Nothing", "No permission at all", [])
        for role in db.session.scalars(sa.select(Role)).all():
            email = re.sub(r"\W+", "-", role.name.lower()) + "@roles.example.com"
            auth.create_user(email, role.name, "role-pass-123", [role.name])
            users[email] = list(role.permissions)
    return users


def _holds(permissions: list[str], needed: str) -> bool:
    return any(p == "*" or p == needed or (p.endswith(".*") and needed.startswith(p[:-1]))
               for p in permissions)


def test_each_role_is_allowed_or_refused_exactly_as_declared(app, routes):
    users = _role_users(app)
    tokens = {email: token_for(app, email) for email in users}
    before = _fingerprint(app)
    client = app.test_client()
    wrong, checked, refused_writes = [], 0, 0
    for email, permissions in users.items():
        headers = {"Authorization": f"Bearer {tokens[email]}"}
        for url, method, permission, is_api in routes:
            if permission in (PUBLIC, LOGGED_IN) or not is_api:
                continue
            allowed = _holds(permissions, permission)
            if allowed and method in WRITES:
                continue  # not sent: an allowed write would change the data under test
            status = _call(client, method, url, headers).status_code
            if (status == 403) == allowed:
                wrong.append((email, method, url, permission, status))
            checked += 1
            refused_writes += method in WRITES and not allowed
    print(f"\nAPI: {checked} (route, role) pairs, {refused_writes} refused writes")
    assert not wrong, wrong[:20]
    assert refused_writes > 100
    assert _fingerprint(app) == before, "a refused request changed the database"


def test_each_role_gets_pages_and_forms_exactly_as_declared(app, routes):
    """Pages and forms per role, logged in through the login form; refused forms are sent
    with a valid CSRF token, so the 403 comes from the permission check."""
    users = _role_users(app)
    browsers = {email: login(app.test_client(), email, "role-pass-123") for email in users}
    tokens = {email: csrf_from(browser.get("/profile")) for email, browser in browsers.items()}
    before = _fingerprint(app)  # after the logins: a login writes its time
    wrong, checked, refused_posts = [], 0, 0
    for email, permissions in users.items():
        browser, token = browsers[email], tokens[email]
        for url, method, permission, is_api in routes:
            if is_api or permission in (PUBLIC, LOGGED_IN):
                continue
            allowed = _holds(permissions, permission)
            if allowed and method != "GET":
                continue  # not sent: an allowed write would change the data under test
            status = browser.open(url, method=method, data=None if method == "GET" else {"csrf_token": token}).status_code
            if (status == 403) == allowed:
                wrong.append((email, method, url, permission, status))
            checked += 1
            refused_posts += method != "GET" and not allowed
    print(f"\npages: {checked} (route, role) pairs, {refused_posts} refused form posts")
    assert not wrong, wrong[:20]
    assert refused_posts > 100
    assert _fingerprint(app) == before, "a refused form changed the database"
