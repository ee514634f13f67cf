"""How the admin plugin plugs into the kernel."""
from core import hookimpl
from core.contrib import MenuItem, Panel, Permission, Widget


@hookimpl
def register_blueprints():
    from core.admin import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("admin.module.read", "See the Apps page"),
        Permission("admin.module.write", "Install and uninstall modules"),
        Permission("admin.event.read", "See the event log"),
        Permission("admin.audit.read", "See who changed which record, when, and how"),
        Permission("admin.webhook.read", "See webhook subscriptions and deliveries"),
        Permission("admin.webhook.write", "Subscribe URLs to events, retry deliveries"),
        Permission("admin.customfield.read", "See the custom fields of record types"),
        Permission("admin.customfield.write", "Add and remove custom fields"),
        Permission("admin.option.write", "Add, rename, reorder and deactivate the options of lists "
                                         "(sources, industries...)"),
    ]


@hookimpl
def register_dashboard_widgets():
    return [Widget(name="admin.activity", title="Business events, last 14 days",
                   template="admin/widget_activity.html", permission="admin.event.read",
                   context=_events_per_day, order=900, wide=True)]


def _events_per_day() -> dict:
    """Events recorded per day over the last 14 days, counted in SQL."""
    import datetime as dt

    import sqlalchemy as sa

    from core.db import db, utcnow
    from core.models import Event

    today = utcnow().date()
    since = today - dt.timedelta(days=13)
    day = sa.func.date(Event.created_at)
    counts = dict((str(d), n) for d, n in db.session.execute(
        sa.select(day, sa.func.count()).where(Event.created_at >= since).group_by(day)))
    days = [since + dt.timedelta(days=i) for i in range(14)]
    return {"labels": [d.strftime("%b %d") for d in days],
            "counts": [counts.get(d.isoformat(), 0) for d in days]}


@hookimpl(trylast=True)
def panels(slot, obj):
    """'History' (the audit trail) on every record page, for those allowed to see it."""
    from flask_login import current_user

    from core.audit import _audited, _record_id, history_of

    if not _audited(obj) or not current_user.can("admin.audit.read"):
        return None
    entries = history_of(obj.__tablename__, _record_id(obj))
    return [Panel("History", "admin/panel_history.html", {"entries": entries}, order=1000)]


@hookimpl
def register_menu():
    return [
        MenuItem("Apps", "admin.apps", "admin.module.read", order=900, icon="apps"),
        MenuItem("Events", "admin.events", "admin.event.read", order=920, icon="events"),
        MenuItem("Webhooks", "admin.webhooks_page", "admin.webhook.read", order=930, icon="link"),
        MenuItem("Custom fields", "admin.custom_fields", "admin.customfield.read", order=940),
        MenuItem("Option lists", "admin.option_lists", "admin.option.write", order=945),
    ]
