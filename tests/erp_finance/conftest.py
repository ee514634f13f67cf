"""Finance test fixtures: a template database with only the kernel and finance installed.

Most finance tests run on a copy of it: finance must work with no other plugin, and the
other plugins' handlers cannot interfere with finance's rules.
"""
from __future__ import annotations

import pytest

from core.db import db
from tests.conftest import ApiClient, build_template, dispose, login, make_app, token_for


@pytest.fixture(scope="session")
def finance_template(databases):
    url = build_template(databases, ("erp_finance",))
    yield url
    databases.drop(url)


@pytest.fixture
def finance_db(databases, finance_template):
    url = databases.copy(finance_template)
    yield url
    databases.drop(url)


@pytest.fixture
def fapp(finance_db):
    app = make_app(finance_db)
    yield app
    dispose(app)


@pytest.fixture
def ctx(fapp):
    """An app context for calling services directly; whatever is not committed is dropped."""
    with fapp.app_context():
        yield fapp
        db.session.rollback()


@pytest.fixture
def fapi(fapp) -> ApiClient:
    return ApiClient(fapp.test_client(), token_for(fapp))


@pytest.fixture
def fadmin(fapp):
    return login(fapp.test_client())
