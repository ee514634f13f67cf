"""Billing schedules: recurring invoices for contracts and renewals.

``run_billing_schedules(today)`` bills every period that has started by ``today``,
exactly once: the schedule row is locked while it is billed, the period counter moves
on in the same transaction, and each invoice is unique on (schedule, period start).
"""
from __future__ import annotations

import calendar
import datetime as dt

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound, ValidationFailed
from core.states import lock, lock_by_id
from plugins.erp_finance import ledger
from plugins.erp_finance.models import PERIODS, BillingSchedule, BillingScheduleLine, Customer, Invoice

FIELDS = ("name", "customer_id", "period", "start_date", "end_date", "currency", "auto_post", "active")
LINE_FIELDS = ("description", "product_ref", "quantity", "unit_price", "discount", "tax_id", "account_id")


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` plus ``months``, on the same day or the month's last day (Jan 31 + 1 = Feb 28)."""
    month = date.month - 1 + months
    year, month = date.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(date.day, calendar.monthrange(year, month)[1]))


def period_start(schedule: BillingSchedule, index: int) -> dt.date:
    """Start of the schedule's ``index``-th period (0 is the first), from its start date."""
    return add_months(schedule.start_date, index * PERIODS[schedule.period])


def get_schedule(schedule_id: int) -> BillingSchedule:
    schedule = db.session.get(BillingSchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"billing schedule {schedule_id} not found")
    return schedule


def _apply(schedule: BillingSchedule, data: dict) -> None:
    for key in FIELDS:
        if key in data:
            setattr(schedule, key, data[key])
    customer = db.session.get(Customer, schedule.customer_id or 0)
    if customer is None:
        raise ValidationFailed({"customer_id": ["Choose a customer."]})
    schedule.currency = schedule.currency or customer.currency
    if schedule.period not in PERIODS:
        raise ValidationFailed({"period": [f"Choose one of {', '.join(PERIODS)}."]})
    if schedule.end_date and schedule.end_date < schedule.start_date:
        raise ValidationFailed({"end_date": ["Must not be before the start date."]})
    if "lines" in data:
        from plugins.erp_finance.invoicing import _build_lines

        _build_lines("out_invoice", data["lines"] or [])  # same rules as invoice lines
        schedule.lines = [BillingScheduleLine(sequence=i, **{k: row.get(k) for k in LINE_FIELDS})
                          for i, row in enumerate(data["lines"] or [])]
    if not schedule.lines:
        raise ValidationFailed({"lines": ["A schedule bills at least one line."]})
    schedule.next_date = _next_date(schedule)


def _next_date(schedule: BillingSchedule) -> dt.date | None:
    start = period_start(schedule, schedule.periods_done)
    return None if schedule.end_date and start > schedule.end_date else start


def create_schedule(data: dict) -> BillingSchedule:
    """A schedule: customer, period (monthly, quarterly, yearly), start and end dates, lines."""
    schedule = BillingSchedule(periods_done=0, auto_post=data.get("auto_post", True),
                               active=data.get("active", True), period=data.get("period", "monthly"))
    _apply(schedule, data)
    db.session.add(schedule)
    db.session.flush()
    return schedule


def update_schedule(schedule: BillingSchedule, data: dict) -> BillingSchedule:
    """Change a schedule; periods already billed stay billed (the start date is then fixed)."""
    lock(schedule)
    if schedule.periods_done and "start_date" in data and data["start_date"] != schedule.start_date:
        raise ValidationFailed({"start_date": ["Periods were already billed from this date."]})
    _apply(schedule, data)
    db.session.flush()
    return schedule


def run_billing_schedules(today: dt.date | None = None) -> list[Invoice]:
    """Create (and post, when the schedule says so) the invoices of every period that has
    started by ``today`` and was not billed yet. Safe to run any number of times."""
    today = today or ledger.today()
    due_ids = db.session.scalars(sa.select(BillingSchedule.id).where(
        BillingSchedule.active.is_(True), BillingSchedule.next_date.is_not(None),
        BillingSchedule.next_date <= today).order_by(BillingSchedule.id)).all()
    created = []
    for schedule_id in due_ids:
        schedule = lock_by_id(BillingSchedule, schedule_id)
        while schedule.next_date is not None and schedule.next_date <= today:
            invoice = _bill_period(schedule, schedule.next_date)
            if invoice is not None:
                created.append(invoice)
            schedule.periods_done += 1
            schedule.next_date = _next_date(schedule)
        db.session.flush()
    return created


def _bill_period(schedule: BillingSchedule, start: dt.date) -> Invoice | None:
    """The invoice of one period; None when that period was billed already."""
    from plugins.erp_finance.invoicing import create_invoice

    if db.session.scalar(sa.select(Invoice.id).where(Invoice.schedule_id == schedule.id,
                                                     Invoice.period_start == start)):
        return None
    end = add_months(start, PERIODS[schedule.period]) - dt.timedelta(days=1)
    lock = ledger.get_settings().lock_date
    date = start if lock is None or start > lock else lock + dt.timedelta(days=1)
    return create_invoice({
        "customer_id": schedule.customer_id, "date": date, "currency": schedule.currency,
        "reference": f"{schedule.name} {start.isoformat()} to {end.isoformat()}",
        "schedule_id": schedule.id, "period_start": start, "post": schedule.auto_post,
        "lines": [{k: getattr(line, k) for k in LINE_FIELDS} for line in schedule.lines]})
