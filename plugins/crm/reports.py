"""Sales reports, aggregated in SQL (GROUP BY) on SQLite and PostgreSQL alike.

Each report is a ``Report``: a title, its columns and a function returning rows as
dicts; the API, the pages and the CSV downloads all serve the same rows. Record rules
apply: a rep's report covers what the rep may see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa

from core.auth.models import User
from core.db import read_session
from core.registry import current_registry
from plugins.crm import rules
from core.options import OptionList
from plugins.crm.models import Activity, Campaign, Deal, Lead, Pipeline, Stage, Task
from plugins.crm.options import SOURCE


def _dialect() -> str:
    return read_session().get_bind().dialect.name


def month_of(column):
    """'YYYY-MM' of a date or timestamp column."""
    if _dialect() == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def day_of(column):
    """'YYYY-MM-DD' of a date or timestamp column."""
    if _dialect() == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d", column)


def week_of(column):
    """'YYYY-Www' (ISO-like week) of a timestamp column."""
    if _dialect() == "postgresql":
        return sa.func.to_char(column, 'IYYY-"W"IW')
    return sa.func.strftime("%Y-W%W", column)


def days_between(start, end):
    """Days (fractional) from ``start`` to ``end`` timestamps."""
    if _dialect() == "postgresql":
        return sa.func.extract("epoch", end - start) / 86400.0
    return sa.func.julianday(end) - sa.func.julianday(start)


def _deals(stmt):
    clause = rules.owned_by_visible(Deal.owner_id)
    return stmt if clause is None else stmt.where(clause)


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def pipeline_by_stage(pipeline_id: int | None = None) -> list[dict]:
    """Count and value of deals per stage (and currency) of a pipeline (the default one)."""
    pipeline_id = pipeline_id or read_session().scalar(
        sa.select(Pipeline.id).order_by(Pipeline.is_default.desc(), Pipeline.id))
    stmt = _deals(sa.select(Stage.name, Stage.position, Deal.currency, sa.func.count(Deal.id),
                            sa.func.coalesce(sa.func.sum(Deal.amount), 0))
                  .join(Deal, Deal.stage_id == Stage.id).where(Stage.pipeline_id == pipeline_id)
                  .group_by(Stage.name, Stage.position, Deal.currency).order_by(Stage.position, Deal.currency))
    return [{"stage": name, "currency": cur, "count": n, "value": _money(v)}
            for name, _pos, cur, n, v in read_session().execute(stmt)]


def forecast() -> list[dict]:
    """Open deals by expected close month: count, value and value weighted by probability."""
    month = month_of(Deal.expected_close).label("month")
    stmt = _deals(sa.select(month, Deal.currency, sa.func.count(Deal.id), sa.func.sum(Deal.amount),
                            sa.func.sum(Deal.amount * Deal.probability / 100))
                  .join(Stage, Stage.id == Deal.stage_id)
                  .where(Stage.is_won.is_(False), Stage.is_lost.is_(False), Deal.expected_close.is_not(None))
                  .group_by(month, Deal.currency).order_by(month, Deal.currency))
    return [{"month": m, "currency": cur, "count": n, "value": _money(v), "weighted": _money(w)}
            for m, cur, n, v, w in read_session().execute(stmt)]


DIMENSIONS = {"owner": (User.name, Deal.owner_id), "source": (Deal.source, None),
              "campaign": (Campaign.name, Deal.campaign_id)}


def win_rate(by: str = "owner") -> list[dict]:
    """Won and lost deals, win rate and average won deal size, by owner, source or campaign."""
    label, key = DIMENSIONS[by]
    won = sa.func.sum(sa.case((Stage.is_won.is_(True), 1), else_=0))
    lost = sa.func.sum(sa.case((Stage.is_lost.is_(True), 1), else_=0))
    avg_won = sa.func.avg(sa.case((Stage.is_won.is_(True), Deal.amount), else_=None))
    stmt = sa.select(label, Deal.currency, won, lost, avg_won).join(Stage, Stage.id == Deal.stage_id)
    if by == "owner":
        stmt = stmt.outerjoin(User, User.id == Deal.owner_id)
    elif by == "campaign":
        stmt = stmt.outerjoin(Campaign, Campaign.id == Deal.campaign_id)
    stmt = _deals(stmt.where(sa.or_(Stage.is_won.is_(True), Stage.is_lost.is_(True)))
                  .group_by(label, Deal.currency).order_by(label, Deal.currency))
    rows = []
    for name, cur, w, l, avg in read_session().execute(stmt):
        w, l = int(w or 0), int(l or 0)
        rows.append({by: name or "—", "currency": cur, "won": w, "lost": l,
                     "win_rate": round(100 * w / (w + l), 1) if w + l else None,
                     "average_won": _money(avg) if avg is not None else None})
    return rows


def sales_cycle() -> list[dict]:
    """Average days from a deal's creation to its win, per owner and overall."""
    days = sa.func.avg(days_between(Deal.created_at, Deal.won_at))
    stmt = _deals(sa.select(User.name, sa.func.count(Deal.id), days).outerjoin(User, User.id == Deal.owner_id)
                  .where(Deal.won_at.is_not(None)).group_by(User.name).order_by(User.name))
    rows = [{"owner": name or "—", "won_deals": n, "average_days": round(float(d or 0), 1)}
            for name, n, d in read_session().execute(stmt)]
    total = read_session().execute(_deals(sa.select(sa.func.count(Deal.id), days).where(Deal.won_at.is_not(None)))).one()
    if total[0]:
        rows.append({"owner": "All", "won_deals": total[0], "average_days": round(float(total[1] or 0), 1)})
    return rows


def activities_per_week() -> list[dict]:
    """Activities logged per author per week, by kind."""
    week = week_of(Activity.occurred_at).label("week")
    stmt = rules.scope_activities(
        sa.select(User.name, week, Activity.kind, sa.func.count(Activity.id))
        .outerjoin(User, User.id == Activity.author_id)
        .group_by(User.name, week, Activity.kind).order_by(week.desc(), User.name, Activity.kind))
    return [{"owner": name or "—", "week": w, "kind": kind, "count": n}
            for name, w, kind, n in read_session().execute(stmt.limit(1000))]


def overdue_tasks(today: dt.date | None = None) -> list[dict]:
    """Open tasks past their due date, per assignee: how many and the oldest due date."""
    today = today or dt.date.today()
    stmt = rules.scope_by(Task.assignee_id)(
        sa.select(User.name, sa.func.count(Task.id), sa.func.min(Task.due_on))
        .outerjoin(User, User.id == Task.assignee_id)
        .where(Task.done.is_(False), Task.due_on < today).group_by(User.name).order_by(User.name))
    return [{"assignee": name or "—", "overdue": n, "oldest_due": oldest}
            for name, n, oldest in read_session().execute(stmt)]


def _won_by_campaign() -> dict[int, list[tuple[str, dt.date, Decimal]]]:
    """Won amounts per campaign, summed per currency and win date."""
    won_day = day_of(sa.func.coalesce(Deal.won_at, Deal.updated_at))
    stmt = _deals(sa.select(Deal.campaign_id, Deal.currency, won_day, sa.func.sum(Deal.amount))
                  .join(Stage, Stage.id == Deal.stage_id)
                  .where(Stage.is_won.is_(True), Deal.campaign_id.is_not(None))
                  .group_by(Deal.campaign_id, Deal.currency, won_day))
    found: dict[int, list] = {}
    for campaign_id, currency, day, amount in read_session().execute(stmt):
        found.setdefault(campaign_id, []).append((currency, dt.date.fromisoformat(day), Decimal(amount or 0)))
    return found


def _in_one_currency(won: list[tuple[str, dt.date, Decimal]], rates) -> dict[str, Decimal]:
    """Won amounts added per currency they can be shown in: the rates' currency for those
    with a rate on their win date, their own for the others (never added across currencies)."""
    totals: dict[str, Decimal] = {}
    for currency, day, amount in won:
        rate = rates.rates.get((currency, day)) if rates is not None else None
        shown = (rates.currency, _money(amount * rate)) if rate is not None else (currency, amount)
        totals[shown[0]] = totals.get(shown[0], Decimal("0")) + shown[1]
    return {currency: _money(total) for currency, total in totals.items()}


def campaigns() -> list[dict]:
    """Leads, converted leads, conversion rate, deals and won value per campaign.

    Won amounts are never added across currencies. When a plugin answers ``exchange_rates``
    (the bridge, from finance), each won deal counts at the rate of its win date in the
    company currency; what has no rate (and everything, without such a plugin) stays in its
    own currency, one more row of the campaign. The campaign's own figures (cost, leads,
    deals) are on its first row.
    """
    leads = sa.select(Lead.campaign_id, sa.func.count(Lead.id).label("leads"),
                      sa.func.sum(sa.case((Lead.status == "converted", 1), else_=0)).label("converted"))
    lead_clause = rules.owned_by_visible(Lead.owner_id)
    if lead_clause is not None:
        leads = leads.where(lead_clause)
    leads = leads.group_by(Lead.campaign_id).subquery()
    deals = _deals(sa.select(Deal.campaign_id, sa.func.count(Deal.id).label("deals"))
                   .group_by(Deal.campaign_id)).subquery()
    stmt = (sa.select(Campaign.id, Campaign.name, Campaign.currency, Campaign.cost, leads.c.leads,
                      leads.c.converted, deals.c.deals)
            .outerjoin(leads, leads.c.campaign_id == Campaign.id)
            .outerjoin(deals, deals.c.campaign_id == Campaign.id).order_by(Campaign.name))
    won = _won_by_campaign()
    rates = current_registry().hook.exchange_rates(
        pairs=sorted({(currency, day) for sums in won.values() for currency, day, _ in sums}))
    first = rates.currency if rates is not None else None
    rows = []
    for campaign_id, name, cur, cost, n_leads, converted, n_deals in read_session().execute(stmt):
        n_leads, converted = int(n_leads or 0), int(converted or 0)
        own = {"campaign": name, "cost": _money(cost), "cost_currency": cur, "leads": n_leads,
               "converted": converted, "deals": int(n_deals or 0),
               "conversion_rate": round(100 * converted / n_leads, 1) if n_leads else None}
        totals = _in_one_currency(won.get(campaign_id, []), rates) or {first or cur: _money(0)}
        # the company currency first, then the campaign's own, then the others
        for i, currency in enumerate(sorted(totals, key=lambda c: (c not in (first, cur), c != first, c))):
            rows.append({**(own if i == 0 else dict.fromkeys(own) | {"campaign": name}),
                         "won_value": totals[currency], "currency": currency})
    return rows


@dataclass(frozen=True)
class Report:
    title: str
    columns: tuple[str, ...]
    rows: Callable[..., list[dict]]
    description: str
    # columns holding an option list's slugs (the API's values), shown by their labels on the page
    options: dict[str, OptionList] = field(default_factory=dict)

    def shown(self, row: dict) -> dict:
        """A row as the page shows it: options by their labels."""
        return {**row, **{c: lst.label_of(row[c]) for c, lst in self.options.items() if c in row}}


REPORTS = {
    "pipeline": Report("Pipeline by stage", ("stage", "currency", "count", "value"), pipeline_by_stage,
                       "Count and value of the deals in each stage of the default pipeline."),
    "forecast": Report("Weighted forecast", ("month", "currency", "count", "value", "weighted"), forecast,
                       "Open deals by expected close month; weighted by each deal's probability."),
    "win-rate-owner": Report("Win rate by owner", ("owner", "currency", "won", "lost", "win_rate", "average_won"),
                             lambda: win_rate("owner"), "Closed deals per owner."),
    "win-rate-source": Report("Win rate by source", ("source", "currency", "won", "lost", "win_rate", "average_won"),
                              lambda: win_rate("source"), "Closed deals per source.", {"source": SOURCE}),
    "win-rate-campaign": Report("Win rate by campaign",
                                ("campaign", "currency", "won", "lost", "win_rate", "average_won"),
                                lambda: win_rate("campaign"), "Closed deals per campaign."),
    "sales-cycle": Report("Sales cycle", ("owner", "won_deals", "average_days"), sales_cycle,
                          "Average days from creating a deal to winning it."),
    "activities": Report("Activities per week", ("owner", "week", "kind", "count"), activities_per_week,
                         "Calls, emails, meetings and notes logged per person and week."),
    "overdue-tasks": Report("Overdue tasks", ("assignee", "overdue", "oldest_due"), overdue_tasks,
                            "Open tasks past their due date."),
    "campaigns": Report("Campaigns", ("campaign", "cost", "cost_currency", "leads", "converted",
                                      "conversion_rate", "deals", "won_value", "currency"), campaigns,
                        "Leads and deals attributed to each campaign, conversion and won value: in the "
                        "company currency at the rate of each win's date when finance is installed, "
                        "in its own currency where there is no rate."),
}


# --- dashboard widgets ---


def pipeline_widget() -> dict:
    rows = pipeline_by_stage()
    return {"rows": rows}


def my_tasks_widget() -> dict:
    from flask_login import current_user

    stmt = (sa.select(Task).where(Task.assignee_id == current_user.id, Task.done.is_(False))
            .order_by(Task.due_on.is_(None), Task.due_on).limit(8))
    return {"tasks": list(read_session().scalars(stmt))}


def forecast_widget() -> dict:
    return {"rows": forecast()[:6]}
