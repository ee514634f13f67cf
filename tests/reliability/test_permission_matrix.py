"""Every route of every installed plugin, enumerated from the URL map, against the
permission it declares: unauthenticated, a user with no permission, a user with
exactly that permission, and each default role. Generated from the declarations, so a
new route is covered (and a route without a permission fails) without editing this.
A refused write must leave the database exactly as it was.
"""
import re

import pytest
import sqlalchemy as sa

from core.auth import services as auth
from core.db import db, transaction
from core.permissions import LOGGED_IN, PUBLIC, permission_of
from tests.conftest import login, token_for

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


def _fingerprint(app) -> dict:
    with app.app_context():
        tables = sa.inspect(db.engine).get_table_names()
        return {t: db.session.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar()
                for t in tables if t not in ("core_login_attempt",)}


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
    wrong, refused_writes = [], 0
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
            refused_writes += method in WRITES and not allowed
    assert not wrong, wrong[:20]
    assert refused_writes > 10
    assert _fingerprint(app) == before, "a refused request changed the database"


def test_pages_refuse_a_logged_in_user_without_the_permission(app, routes):
    from tests.conftest import create_user

    create_user(app, "bare@example.com", [], password="bare-pass-123")
    browser = login(app.test_client(), "bare@example.com", "bare-pass-123")
    wrong = []
    for url, method, permission, is_api in routes:
        if is_api or method != "GET" or permission in (PUBLIC, LOGGED_IN):
            continue
        status = browser.get(url).status_code
        if status != 403:
            wrong.append((url, permission, status))
    assert not wrong
