"""core.states: a state changes only on a locked row, and a refusal names the state found."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from core.states import ACTIONS, InvalidState, UnlockedStateChange, lock, state_change, state_of


def _lead(app) -> int:
    from plugins.crm import services

    with app.app_context(), transaction():
        return services.create_lead({"name": "Ann", "company": "Locked Ltd"}).id


def test_a_state_changed_without_the_lock_fails_the_flush(app):
    from plugins.crm.models import Lead

    lead_id = _lead(app)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        lead.status = "converted"  # what a naive service does: read, decide, write
        with pytest.raises(UnlockedStateChange, match="status changed without the row being locked"):
            db.session.flush()
        db.session.rollback()
        lead = db.session.get(Lead, lead_id)
        lead.notes = "not a state column: no lock needed"
        db.session.flush()
        db.session.rollback()


def test_a_locked_row_may_change_state_and_a_new_row_is_its_own(app):
    from plugins.crm.models import Lead

    lead_id = _lead(app)
    with app.app_context(), transaction():
        lead = lock(db.session.get(Lead, lead_id))
        lead.status = "qualified"
        fresh = Lead(name="New", status="new")
        db.session.add(fresh)
        db.session.flush()
        fresh.status = "contacted"  # inserted by this transaction: nobody else can see it
        db.session.flush()
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "qualified"
        assert db.session.scalar(sa.select(Lead.status).where(Lead.name == "New")) == "contacted"


def test_the_lock_reads_the_row_again(app):
    """A change committed by someone else after the record was read is seen under the lock."""
    from plugins.crm.models import Lead

    lead_id = _lead(app)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        db.session.commit()  # ends the read; the row stays in the session
        with db.engine.begin() as other:
            other.execute(sa.text("UPDATE crm_lead SET status = 'disqualified' WHERE id = :id"), {"id": lead_id})
        assert state_of(lock(lead)) == "disqualified"
        db.session.rollback()


def test_a_declared_action_refuses_a_record_in_another_state_with_409_naming_it(app, api):
    from plugins.crm.models import Lead

    calls = []

    @state_change(Lead, "archive", states=("new",))
    def archive(lead):
        calls.append(lead.id)

    ACTIONS.pop()  # a test's action is not one of the suite's
    lead_id = _lead(app)
    with app.app_context():
        with transaction():
            archive(db.session.get(Lead, lead_id))
            lock(db.session.get(Lead, lead_id)).status = "contacted"
        with pytest.raises(InvalidState) as refused:
            archive(db.session.get(Lead, lead_id))
        db.session.rollback()
    assert calls == [lead_id] and refused.value.state == "contacted" and refused.value.status == 409
    assert "is contacted: it cannot be archived" in refused.value.message
    converted = api.post(f"/api/v1/crm/leads/{lead_id}/convert", json={})
    again = api.post(f"/api/v1/crm/leads/{lead_id}/convert", json={})
    assert converted.status_code == 200
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_state"
    assert again.get_json()["state"] == "converted"


def test_every_declared_action_names_a_model_with_a_state(app):
    assert len(ACTIONS) >= 20
    for action in ACTIONS:
        model = action.model
        assert getattr(model, "__state__", None) and getattr(model, "__state_columns__", None), action
        assert action.states, action
