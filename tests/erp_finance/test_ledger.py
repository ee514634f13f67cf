"""The ledger: default chart, posting rules, numbering, lock date, immutability, hash chain."""
import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from core.errors import RuleViolation, ValidationFailed
from plugins.erp_finance import services
from plugins.erp_finance.guards import PostedEntryChanged
from plugins.erp_finance.models import Account, FiscalYear, Journal, JournalEntry, JournalLine
from tests.erp_finance.helpers import DAY, D, account, manual_entry, trial_totals


def test_install_creates_an_editable_default_chart(ctx):
    codes = set(db.session.scalars(sa.select(Account.code)))
    assert {"1000", "1100", "2000", "2100", "4000", "6200", "7900"} <= codes
    assert account("1100").control == "receivable" and account("2000").control == "payable"
    journals = {j.code: j.type for j in db.session.scalars(sa.select(Journal))}
    assert journals == {"INV": "sale", "BILL": "purchase", "BNK": "bank", "CSH": "cash", "MISC": "general"}
    settings = services.get_settings()
    assert settings.currency == "EUR" and settings.receivable_account_id == account("1100").id
    services.update_account(account("6200"), {"name": "Office costs"})
    assert account("6200").name == "Office costs"
    services.install_defaults()  # a second call adds nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == len(codes)


def test_posting_checks_the_balance_exactly(ctx):
    misc = services.get_settings().misc_journal_id
    entry = services.create_entry({"journal_id": misc, "date": DAY, "lines": [
        {"account_id": account("6200").id, "debit": D("0.10")},
        {"account_id": account("6200").id, "debit": D("0.20")},
        {"account_id": account("1000").id, "credit": D("0.31")}]})
    with pytest.raises(RuleViolation) as exc:
        services.post_entry(entry)
    assert exc.value.code == "entry_unbalanced" and "0.01" in exc.value.message
    services.update_entry(entry, {"lines": [
        {"account_id": account("6200").id, "debit": D("0.10")},
        {"account_id": account("6200").id, "debit": D("0.20")},
        {"account_id": account("1000").id, "credit": D("0.30")}]})
    services.post_entry(entry)
    assert entry.state == "posted" and entry.total_debit == entry.total_credit == D("0.30")


@pytest.mark.parametrize("bad, field", [(0.1, "debit"), ("1.001", "debit"), ("abc", "debit")])
def test_amounts_must_be_exact_cents(ctx, bad, field):
    misc = services.get_settings().misc_journal_id
    with pytest.raises(ValidationFailed) as exc:
        services.create_entry({"journal_id": misc, "date": DAY, "lines": [
            {"account_id": account("6200").id, "debit": bad},
            {"account_id": account("1000").id, "credit": D("1.00")}]})
    assert field in exc.value.errors["lines"][0]


def test_manual_entries_cannot_touch_control_accounts(ctx):
    misc = services.get_settings().misc_journal_id
    with pytest.raises(ValidationFailed) as exc:
        services.create_entry({"journal_id": misc, "date": DAY, "lines": [
            {"account_id": account("1100").id, "debit": D("5.00")},
            {"account_id": account("4000").id, "credit": D("5.00")}]})
    assert "control account" in str(exc.value.errors)


def test_nothing_is_posted_on_or_before_the_lock_date(ctx):
    services.update_settings({"lock_date": dt.date(2026, 3, 31)})
    for day in (dt.date(2026, 3, 31), dt.date(2026, 1, 5)):
        entry = manual_entry(date=day, post=False)
        with pytest.raises(RuleViolation) as exc:
            services.post_entry(entry)
        assert exc.value.code == "period_locked"
        assert entry.state == "draft" and entry.number is None
    assert manual_entry(date=dt.date(2026, 4, 1)).state == "posted"


def test_a_closed_fiscal_year_refuses_postings(ctx):
    manual_entry(date=dt.date(2026, 2, 1))
    year = db.session.scalar(sa.select(FiscalYear).where(FiscalYear.name == "2026"))
    assert (year.date_start, year.date_end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    services.update_fiscal_year(year, {"state": "closed"})
    with pytest.raises(RuleViolation) as exc:
        manual_entry(date=dt.date(2026, 5, 1))
    assert exc.value.code == "fiscal_year_closed"


def test_numbers_are_gap_free_per_journal_and_year(ctx):
    numbers = [manual_entry(date=dt.date(2026, 1, d)).number for d in range(1, 4)]
    assert numbers == ["MISC/2026/00001", "MISC/2026/00002", "MISC/2026/00003"]
    assert manual_entry(date=dt.date(2027, 1, 2)).number == "MISC/2027/00001"
    bank = services.get_settings().bank_journal_id
    entry = services.create_entry({"journal_id": bank, "date": DAY, "post": True, "lines": [
        {"account_id": account("6900").id, "debit": D("3.00")},
        {"account_id": account("1000").id, "credit": D("3.00")}]})
    assert entry.number == "BNK/2026/00001"


def test_a_rolled_back_posting_gives_its_number_back(fapp):
    with fapp.app_context():
        with transaction():
            manual_entry(date=DAY)
        with pytest.raises(RuntimeError):
            with transaction():
                manual_entry(date=DAY)
                raise RuntimeError("the request failed after posting")
        with transaction():
            assert manual_entry(date=DAY).number == "MISC/2026/00002"


def test_concurrent_postings_take_consecutive_numbers(fapp):
    workers, numbers, failures = 6, [], []
    barrier = threading.Barrier(workers)

    def post():
        with fapp.app_context():
            barrier.wait()
            try:
                with transaction():
                    numbers.append(manual_entry(date=DAY).number)
            except sa.exc.OperationalError as exc:  # SQLite refuses a second writer outright
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(numbers) + len(failures) == workers and numbers
    if fapp.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert not failures  # PostgreSQL waits on the locked sequence row instead
    assert sorted(numbers) == [f"MISC/2026/{n:05d}" for n in range(1, len(numbers) + 1)]


def test_reversal_mirrors_the_entry_once(ctx):
    entry = manual_entry("80.00")
    reversal = services.reverse_entry(entry, dt.date(2026, 3, 20), "typo")
    assert reversal.state == "posted" and reversal.reversal_of_id == entry.id
    assert [(ln.account_id, ln.debit, ln.credit) for ln in reversal.lines] == \
        [(ln.account_id, ln.credit, ln.debit) for ln in entry.lines]
    with pytest.raises(RuleViolation) as exc:
        services.reverse_entry(entry)
    assert exc.value.code == "entry_already_reversed"
    debit, credit = trial_totals()
    assert debit == credit


def test_document_entries_are_corrected_through_their_documents(ctx):
    from tests.erp_finance.helpers import customer, invoice

    inv = invoice(customer())
    with pytest.raises(RuleViolation) as exc:
        services.reverse_entry(inv.entry)
    assert exc.value.code == "entry_has_document"


def test_the_services_refuse_to_change_posted_entries(ctx):
    entry = manual_entry()
    for attempt in (lambda: services.update_entry(entry, {"ref": "changed"}),
                    lambda: services.delete_entry(entry), lambda: services.post_entry(entry)):
        with pytest.raises(RuleViolation):
            attempt()


def test_the_database_guard_refuses_changes_to_posted_entries(ctx):
    entry = manual_entry()
    db.session.commit()
    line = entry.lines[0]

    def refused(change):
        change()
        with pytest.raises(PostedEntryChanged):
            db.session.flush()
        db.session.rollback()

    refused(lambda: setattr(entry, "ref", "changed"))
    refused(lambda: setattr(line, "debit", D("51.00")))
    refused(lambda: db.session.delete(entry))
    refused(lambda: db.session.delete(line))
    refused(lambda: entry.lines.append(JournalLine(account_id=line.account_id, debit=D(1), credit=D(0),
                                                   currency="EUR", amount_currency=D(1))))
    with pytest.raises(PostedEntryChanged):
        db.session.execute(sa.update(JournalLine).values(debit=D("1.00")))
    db.session.rollback()
    with pytest.raises(PostedEntryChanged):
        db.session.execute(sa.delete(JournalEntry))
    db.session.rollback()
    fresh = db.session.get(JournalEntry, entry.id)
    assert fresh.ref == "Supplies" and fresh.lines[0].debit == D("50.00")
    draft = manual_entry(post=False)
    draft.ref = "drafts change freely"
    db.session.flush()


def test_verify_ledger_names_the_entry_tampered_with(fapp):
    with fapp.app_context():
        with transaction():
            entries = [manual_entry(str(10 + i)) for i in range(3)]
        ids = [e.id for e in entries]
    runner = fapp.test_cli_runner()
    result = runner.invoke(args=["finance", "verify-ledger"])
    assert result.exit_code == 0, result.output
    assert "ledger intact" in result.output
    with fapp.app_context():  # change a posted amount behind the ORM's back
        with transaction():
            db.session.execute(sa.text("UPDATE finance_entry_line SET debit = 99 WHERE entry_id = :id AND debit > 0"),
                               {"id": ids[1]})
            db.session.execute(sa.text("UPDATE finance_entry_line SET credit = 99 WHERE entry_id = :id AND credit > 0"),
                               {"id": ids[1]})
    result = runner.invoke(args=["finance", "verify-ledger"])
    assert result.exit_code == 1
    assert "MISC/2026/00002" in result.output and "changed after posting" in result.output


def test_verify_ledger_notices_a_removed_last_entry(fapp):
    with fapp.app_context():
        with transaction():
            last = manual_entry("10.00"), manual_entry("11.00")
        with transaction():
            db.session.execute(sa.text("DELETE FROM finance_entry_line WHERE entry_id = :id"), {"id": last[1].id})
            db.session.execute(sa.text("DELETE FROM finance_entry WHERE id = :id"), {"id": last[1].id})
        [misc] = [r for r in services.verify_ledger() if r.journal == "MISC"]
        assert not misc.ok and "entries removed" in misc.problem


def test_reports_read_daily_sums_kept_at_posting_and_verify_checks_them(fapp):
    from plugins.erp_finance import reports
    from plugins.erp_finance.models import AccountDay

    with fapp.app_context():
        with transaction():
            first = manual_entry("40.00", date=DAY)
            manual_entry("2.50", date=DAY)
            manual_entry("7.25", date=DAY + dt.timedelta(days=3), debit="1000", credit="6200")
            services.reverse_entry(first, DAY + dt.timedelta(days=5))
        with pytest.raises(RuntimeError), transaction():  # a posting rolled back adds nothing
            manual_entry("1000.00", date=DAY)
            raise RuntimeError("refused")
        sums = {(r.account_id, r.day): (r.debit, r.credit) for r in db.session.scalars(sa.select(AccountDay))}
        expense, bank = account("6200").id, account("1000").id
        assert sums[(expense, DAY)] == (D("42.50"), D("0.00"))
        assert sums[(bank, DAY + dt.timedelta(days=3))] == (D("7.25"), D("0.00"))
        assert sums[(expense, DAY + dt.timedelta(days=5))] == (D("0.00"), D("40.00"))
        rows = {r["code"]: r for r in reports.trial_balance(DAY, DAY + dt.timedelta(days=30))["rows"]}
        assert (rows["6200"]["debit"], rows["6200"]["credit"], rows["6200"]["closing"]) == \
            (D("42.50"), D("47.25"), D("-4.75"))
        later = {r["code"]: r for r in reports.trial_balance(DAY + dt.timedelta(days=4), DAY + dt.timedelta(days=30))["rows"]}
        assert later["6200"]["opening"] == D("35.25") and later["6200"]["credit"] == D("40.00")
        assert all(r.ok for r in services.verify_ledger())
        with transaction():  # a kept sum changed behind the ledger's back
            db.session.execute(sa.text("UPDATE finance_account_day SET debit = 1 WHERE account_id = :a"),
                               {"a": expense})
        [day_sums] = [r for r in services.verify_ledger() if r.journal == "day sums"]
        assert not day_sums.ok and "6200" in day_sums.problem


def test_the_migration_fills_the_daily_sums_of_entries_posted_before_it(fapp):
    """erp_finance_0003 creates finance_account_day from the entries already posted."""
    from alembic import command

    from core.migrate import _config
    from plugins.erp_finance import reports

    with fapp.app_context():
        with transaction():
            manual_entry("12.00", date=DAY)
            manual_entry("3.00", date=DAY + dt.timedelta(days=1), debit="1000", credit="6200")
        before = reports.trial_balance(DAY, DAY + dt.timedelta(days=9))["rows"]
        registry = fapp.extensions["tandem"]
        with transaction():
            command.downgrade(_config(registry, db.session.connection()), "erp_finance_0002")
        assert "finance_account_day" not in sa.inspect(db.engine).get_table_names()
        with transaction():
            command.upgrade(_config(registry, db.session.connection()), "erp_finance@head")
        assert reports.trial_balance(DAY, DAY + dt.timedelta(days=9))["rows"] == before
        assert all(r.ok for r in services.verify_ledger())
