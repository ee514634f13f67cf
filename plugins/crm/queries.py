"""Read-only look-ups shared by the pages and the API (record rules applied)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import current_user

from core.db import db
from plugins.crm import rules
from plugins.crm.models import Activity, Notification, Task


def my_open_tasks() -> list[Task]:
    """The current user's open tasks, soonest due first (undated last)."""
    return list(db.session.scalars(sa.select(Task).where(
        Task.assignee_id == current_user.id, Task.done.is_(False))
        .order_by(Task.due_on.is_(None), Task.due_on, Task.id).limit(200)))


def overdue(today: dt.date | None = None) -> list[Task]:
    """Open tasks past due that the user may see, oldest first."""
    today = today or dt.date.today()
    return list(db.session.scalars(rules.scope_by(Task.assignee_id)(sa.select(Task)).where(
        Task.done.is_(False), Task.due_on < today).order_by(Task.due_on, Task.id).limit(200)))


def unread_notifications() -> list[Notification]:
    """The current user's unread notifications, newest first."""
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc()).limit(100)))


def timeline(**link) -> list[Activity]:
    """Activities on one record (``deal_id=``, ``contact_id=`` or ``account_id=``), newest first."""
    (column, value), = link.items()
    return list(db.session.scalars(sa.select(Activity).where(getattr(Activity, column) == value)
                                   .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(200)))


def tasks_on(**link) -> list[Task]:
    """Open tasks on one record."""
    (column, value), = link.items()
    return list(db.session.scalars(sa.select(Task).where(getattr(Task, column) == value, Task.done.is_(False))
                                   .order_by(Task.due_on).limit(50)))
