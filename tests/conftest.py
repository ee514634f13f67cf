"""Shared fixtures: databases built once per session and copied per test, apps, clients.

Migrating every plugin takes a while, so the session builds two template databases
(the kernel alone, and every shipped plugin installed) and each test gets a copy.
With ``TEST_DATABASE_URL`` pointing at PostgreSQL, templates are PostgreSQL databases
and copies are ``CREATE DATABASE ... TEMPLATE``.
"""
from __future__ import annotations

import itertools
import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings

from core import create_app
from core.cli import init_database
from core.db import db, transaction

# Property tests run a fixed number of examples, derandomized: a failure replays as it is
# with the command printed under "Replay"; print_blob adds the @reproduce_failure line.
settings.register_profile("tandem", max_examples=40, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
# While working on a failing property: the same examples, reported without shrinking them.
settings.register_profile("tandem-noshrink", settings.get_profile("tandem"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tandem"))
#: The seed of every other randomised test (load tests: ``random.Random(SEED)``).
SEED = int(os.environ.get("TANDEM_SEED", "20261123"))


@pytest.fixture
def seed() -> int:
    """The fixed seed of a randomised test; a failure prints the command replaying it."""
    return SEED


def replay_command(item) -> str:
    """One command that re-runs ``item`` with the same seed and database."""
    env = [f"TANDEM_SEED={SEED}"] if "seed" in item.fixturenames else []
    env += [f"{name}={os.environ[name]}" for name in ("TEST_DATABASE_URL", "HYPOTHESIS_PROFILE")
            if os.environ.get(name)]
    return " ".join([*env, ".venv/bin/python", "-m", "pytest", f"'{item.nodeid}'"])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when == "call":
        report.sections.append(("Replay", replay_command(item)))
    return report

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-pass-123"
SHIPPED = ("crm", "erp_finance", "erp_inventory", "bridge")
_counter = itertools.count()


def _pg_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


class Databases:
    """Makes throw-away databases from templates, on SQLite files or PostgreSQL."""

    def __init__(self, root: Path):
        self.root = root
        self.pg = _pg_url()
        self.templates: dict[str, str] = {}

    def empty(self) -> str:
        if self.pg:
            name = f"tandem_t_{uuid.uuid4().hex[:12]}"
            self._pg_admin(f'CREATE DATABASE "{name}"')
            return self.pg.rsplit("/", 1)[0] + f"/{name}"
        return f"sqlite:///{self.root / f'db{next(_counter)}.sqlite'}"

    def copy(self, template_url: str) -> str:
        if self.pg:
            name = f"tandem_t_{uuid.uuid4().hex[:12]}"
            template = template_url.rsplit("/", 1)[1]
            self._pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return self.pg.rsplit("/", 1)[0] + f"/{name}"
        target = self.root / f"db{next(_counter)}.sqlite"
        shutil.copyfile(template_url.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        """Remove a copy once its test is over (PostgreSQL keeps databases around)."""
        if self.pg:
            self._pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    def _pg_admin(self, statement: str) -> None:
        engine = sa.create_engine(self.pg, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
        engine.dispose()


def make_app(url: str, **config):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                      "SECRET_KEY": "test-secret", **config})
    return app


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def build_template(databases: Databases, modules: tuple[str, ...]) -> str:
    url = databases.empty()
    app = make_app(url)
    with app.app_context():
        init_database(ADMIN_EMAIL, ADMIN_PASSWORD)
        from core import lifecycle

        with transaction():
            for name in modules:
                lifecycle.install(name)
    dispose(app)
    return url


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Databases:
    return Databases(tmp_path_factory.mktemp("databases"))


@pytest.fixture(scope="session")
def kernel_template(databases):
    url = build_template(databases, ())
    yield url
    databases.drop(url)


@pytest.fixture(scope="session")
def full_template(databases):
    url = build_template(databases, SHIPPED)
    yield url
    databases.drop(url)


@pytest.fixture
def kernel_db(databases, kernel_template):
    """A database with only the kernel and the admin user."""
    url = databases.copy(kernel_template)
    yield url
    databases.drop(url)


@pytest.fixture
def full_db(databases, full_template):
    """A database with every shipped plugin installed."""
    url = databases.copy(full_template)
    yield url
    databases.drop(url)


@pytest.fixture
def app(full_db):
    app = make_app(full_db)
    yield app
    dispose(app)


@pytest.fixture
def kernel_app(kernel_db):
    app = make_app(kernel_db)
    yield app
    dispose(app)


class ApiClient:
    """A test client that sends a bearer token and speaks JSON."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def token_for(app, email: str = ADMIN_EMAIL) -> str:
    from core.auth import services

    with app.app_context():
        with transaction():
            _token, plain = services.create_token(services.user_by_email(email), "tests")
    return plain


def create_user(app, email: str, roles: list[str], password: str = "user-pass-123") -> None:
    from core.auth import services

    with app.app_context():
        with transaction():
            services.create_user(email, email.split("@")[0].title(), password, roles)


def load_demo_data(app) -> None:
    """Load the demo data of every installed plugin into ``app``'s database (no progress bars)."""
    from contextlib import contextmanager

    from core.demo import load_demo

    @contextmanager
    def progress_for(_name):
        yield lambda n: None

    with app.app_context():
        load_demo(progress_for)


def login(client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD):
    """Log a test client in through the real login form (CSRF token included)."""
    page = client.get("/login")
    token = csrf_from(page)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf_from(response) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def api(app) -> ApiClient:
    return ApiClient(app.test_client(), token_for(app))


@pytest.fixture
def admin(app):
    """A browser-like client logged in as the admin."""
    return login(app.test_client())
