"""What a session does with rows over a transaction: audit rows collected and written at
commit (savepoints respected, core.pending), and the records it loaded kept until it ends."""
from __future__ import annotations

import sqlalchemy as sa

from core.audit import AuditEntry, history_of
from core.db import db
from tests.statements import counting_statements


def _audited_names() -> list[str]:
    from plugins.crm.models import Account

    ids = {str(i): n for i, n in db.session.execute(sa.select(Account.id, Account.name))}
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.table_name == "crm_account",
                                                          AuditEntry.action == "create"))
    return sorted(ids.get(r.record_id, "?") for r in rows)


def test_one_insert_per_transaction_and_rolled_back_savepoints_leave_nothing(app):
    from plugins.crm import services as crm

    with app.app_context():
        with counting_statements(app) as log:
            crm.create_account({"name": "Kept Before"})
            try:
                with db.session.begin_nested():
                    crm.create_account({"name": "Rolled Back"})
                    raise RuntimeError("refused")
            except RuntimeError:
                pass
            with db.session.begin_nested():
                crm.create_account({"name": "Kept Inside"})
            crm.create_account({"name": "Kept After"})
            db.session.commit()
        inserts = [s for s in log.statements if s.startswith("INSERT INTO core_audit")]
        assert len(inserts) == 1, str(log)
        assert _audited_names() == ["Kept After", "Kept Before", "Kept Inside"]


def test_history_is_complete_inside_the_transaction_and_a_rollback_writes_nothing(app):
    from plugins.crm import services as crm

    with app.app_context():
        account = crm.create_account({"name": "Read Back"})
        assert [e.action for e in history_of("crm_account", account.id)] == ["create"]
        db.session.rollback()
        crm.create_account({"name": "Never Kept"})
        db.session.rollback()
        assert _audited_names() == []


def test_rows_written_early_inside_a_rolled_back_savepoint_are_collected_again(app):
    """A read of the history inside a savepoint writes the rows collected before it there;
    the savepoint rolling back must not lose them (core.pending)."""
    from plugins.crm import services as crm

    with app.app_context():
        before = crm.create_account({"name": "Outside First"})
        try:
            with db.session.begin_nested():
                crm.create_account({"name": "Inside Dropped"})
                assert [e.action for e in history_of("crm_account", before.id)] == ["create"]
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        db.session.commit()
        assert _audited_names() == ["Outside First"]


def test_a_session_keeps_the_records_it_loaded_until_it_ends(app):
    """core.db.keep_loaded_objects: a record nothing refers to any more is not selected
    again by the next step of the same transaction; a commit still refreshes it."""
    from plugins.erp_finance import ledger

    with app.app_context():
        with counting_statements(app) as log:
            for _ in range(3):
                assert ledger.get_settings().id == 1  # no variable keeps it between calls
            db.session.commit()
            ledger.get_settings()
        reads = [s for s in log.statements if s.startswith("SELECT") and "FROM finance_settings" in s]
        assert len(reads) == 2, str(log)  # the first read, and the refresh after the commit
