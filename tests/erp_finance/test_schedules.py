"""Billing schedules: each period billed exactly once, by the service, the CLI and the hook."""
import datetime as dt

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from core.errors import ValidationFailed
from plugins.erp_finance import services
from plugins.erp_finance.models import Invoice
from plugins.erp_finance.schedules import add_months
from tests.erp_finance.helpers import D, customer, tax


def schedule(c, **fields):
    return services.create_schedule({"name": "Support", "customer_id": c.id, "period": "monthly",
                                     "start_date": dt.date(2026, 1, 31), "lines": [
                                         {"description": "Support", "quantity": D(1), "unit_price": D("100.00"),
                                          "tax_id": tax().id}], **fields})


def test_add_months_keeps_the_day_or_the_month_end():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 2) == dt.date(2026, 3, 31)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)


def test_each_period_is_billed_exactly_once(ctx):
    sc = schedule(customer(), end_date=dt.date(2026, 4, 30))
    created = services.run_billing_schedules(dt.date(2026, 3, 31))
    assert [i.period_start for i in created] == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    assert all(i.state == "posted" and i.amount_total == D("120.00") for i in created)
    assert services.run_billing_schedules(dt.date(2026, 3, 31)) == []
    # the period starting on the end date is the last one
    assert [i.period_start for i in services.run_billing_schedules(dt.date(2026, 12, 31))] == [dt.date(2026, 4, 30)]
    assert sc.next_date is None and sc.periods_done == 4


def test_quarterly_drafts_and_bad_input(ctx):
    c = customer()
    sc = schedule(c, period="quarterly", auto_post=False, start_date=dt.date(2026, 1, 1))
    created = services.run_billing_schedules(dt.date(2026, 7, 1))
    assert [(i.period_start, i.state) for i in created] == [(dt.date(2026, 1, 1), "draft"),
                                                           (dt.date(2026, 4, 1), "draft"),
                                                           (dt.date(2026, 7, 1), "draft")]
    assert sc.next_date == dt.date(2026, 10, 1)
    with pytest.raises(ValidationFailed):
        services.create_schedule({"name": "x", "customer_id": c.id, "period": "weekly",
                                  "start_date": dt.date(2026, 1, 1), "lines": [{"description": "a", "unit_price": D(1)}]})
    with pytest.raises(ValidationFailed):
        schedule(c, end_date=dt.date(2025, 1, 1))


def test_the_cli_and_the_scheduler_hook_bill_once(fapp):
    with fapp.app_context():
        with transaction():
            schedule(customer(), start_date=dt.date(2026, 1, 1))
    runner = fapp.test_cli_runner()
    first = runner.invoke(args=["finance", "run-schedules", "--date", "2026-02-15"])
    assert first.exit_code == 0 and "2 invoice(s) created" in first.output, first.output
    again = runner.invoke(args=["finance", "run-schedules", "--date", "2026-02-15"])
    assert "0 invoice(s) created" in again.output
    with fapp.app_context():
        from core.registry import current_registry

        [jobs] = current_registry().hook.register_scheduled_jobs()  # what tandem worker runs
        assert [job.name for job in jobs] == ["finance.billing_schedules"]
        from plugins.erp_finance.hooks import billing_job

        with transaction():
            line = billing_job(dt.date(2026, 3, 2))
        assert line.count("invoice ") == 1 and "Acme" in line
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 3
