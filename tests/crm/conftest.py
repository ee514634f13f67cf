"""CRM fixtures: users with the sales roles and their API clients."""
from __future__ import annotations

import pytest

from core import hookimpl
from tests.conftest import ApiClient, create_user, token_for


@pytest.fixture
def crm_users(app):
    """Two reps (ann, bob), a manager (meg) of a team holding ann; API clients for each."""
    for email, role in (("ann@example.com", "Sales rep"), ("bob@example.com", "Sales rep"),
                        ("meg@example.com", "Sales manager")):
        create_user(app, email, [role])
    from core.db import db, transaction
    from plugins.crm import services
    from core.auth.services import user_by_email

    with app.app_context(), transaction():
        ids = {name: user_by_email(f"{name}@example.com").id for name in ("ann", "bob", "meg")}
        services.create_team({"name": "North", "manager_id": ids["meg"], "member_ids": [ids["ann"]]})
        db.session.flush()
    clients = {name: ApiClient(app.test_client(), token_for(app, f"{name}@example.com")) for name in ids}
    return ids, clients


class Blocker:
    """A stand-in plugin answering ``check_deal_won`` with one blocking problem."""

    def __init__(self):
        self.calls = 0

    @hookimpl
    def check_deal_won(self, deal):
        from plugins.crm.hookspecs import DealProblem

        self.calls += 1
        return [DealProblem(code="credit_limit", message="credit limit exceeded", plugin="test")]


class Listener:
    """Counts CRM events."""

    def __init__(self):
        self.events = []

    @hookimpl
    def on_deal_won(self, event):
        self.events.append(("won", event))

    @hookimpl
    def on_deal_lost(self, event):
        self.events.append(("lost", event))

    @hookimpl
    def on_case_resolved(self, event):
        self.events.append(("case", event))


@pytest.fixture
def listener(app):
    found = Listener()
    app.extensions["tandem"].pm.register(found, name="crm-test-listener")
    return found


@pytest.fixture
def blocker(app):
    found = Blocker()
    app.extensions["tandem"].pm.register(found, name="crm-test-blocker")
    return found
