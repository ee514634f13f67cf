"""How the CRM plugs into the kernel."""
import sqlalchemy as sa

from core import hookimpl
from core.contrib import MenuItem, Permission, Role, Widget
from core.db import db

RECORDS = {"account": "accounts", "contact": "contacts", "lead": "leads", "deal": "deals",
           "activity": "activities", "task": "tasks", "quote": "quotes", "case": "cases",
           "campaign": "campaigns", "pipeline": "pipelines", "team": "teams",
           "automation": "automation rules"}
EXTRA_PERMISSIONS = (
    ("crm.deal.override", "Win a deal despite blocking problems, giving a reason"),
    ("crm.record.all", "See and edit every CRM record, whoever owns it"),
    ("crm.report.read", "See CRM reports and the forecast"),
    ("crm.data.import", "Import accounts, contacts and leads from CSV"),
    ("crm.data.export", "Export accounts, contacts and leads as CSV"),
    ("crm.data.merge", "Merge duplicate contacts and accounts"),
)
_WORK = ("account", "contact", "lead", "deal", "activity", "task", "quote", "case")
REP = tuple(f"crm.{r}.{v}" for r in _WORK for v in ("read", "write")) + (
    "crm.campaign.read", "crm.pipeline.read", "crm.report.read", "crm.data.export")
MANAGER = REP + ("crm.campaign.write", "crm.pipeline.write", "crm.team.read", "crm.team.write",
                 "crm.automation.read", "crm.automation.write", "crm.deal.override",
                 "crm.data.import", "crm.data.merge")


@hookimpl
def register_blueprints():
    from plugins.crm import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    found = []
    for record, plural in RECORDS.items():
        found += [Permission(f"crm.{record}.read", f"See {plural}"),
                  Permission(f"crm.{record}.write", f"Create and edit {plural}")]
    return found + [Permission(name, text) for name, text in EXTRA_PERMISSIONS]


@hookimpl
def register_roles():
    return [Role("Sales rep", "Works the customer relationship: sees and edits what they own", REP),
            Role("Sales manager", "Leads a sales team: sees the team's records, overrides, imports",
                 MANAGER)]


@hookimpl
def register_menu():
    return [MenuItem("Pipeline", "crm.board", "crm.deal.read", order=5, icon="pipeline"),
            MenuItem("Accounts", "crm.account_list", "crm.account.read", order=10, icon="accounts"),
            MenuItem("Contacts", "crm.contact_list", "crm.contact.read", order=11, icon="contacts"),
            MenuItem("Leads", "crm.lead_list", "crm.lead.read", order=12, icon="users"),
            MenuItem("Deals", "crm.deal_list", "crm.deal.read", order=13, icon="deals"),
            MenuItem("My tasks", "crm.my_tasks", "crm.task.read", order=14, icon="tasks"),
            MenuItem("Activities", "crm.activity_list", "crm.activity.read", order=15, icon="activities"),
            MenuItem("Quotes", "crm.quote_list", "crm.quote.read", order=16, icon="quotes"),
            MenuItem("Cases", "crm.case_list", "crm.case.read", order=17, icon="cases"),
            MenuItem("Campaigns", "crm.campaign_list", "crm.campaign.read", order=18, icon="campaign"),
            MenuItem("Sales reports", "crm.reports", "crm.report.read", order=19, icon="reports")]


@hookimpl
def register_dashboard_widgets():
    from plugins.crm import reports

    return [Widget(name="crm.pipeline", title="Pipeline by stage", template="crm/widget_pipeline.html",
                   permission="crm.deal.read", context=reports.pipeline_widget, order=10),
            Widget(name="crm.my_tasks", title="My tasks", template="crm/widget_tasks.html",
                   permission="crm.task.read", context=reports.my_tasks_widget, order=11),
            Widget(name="crm.forecast", title="Forecast", template="crm/widget_forecast.html",
                   permission="crm.report.read", context=reports.forecast_widget, order=12),
            Widget(name="crm.accounts", title="Accounts by industry", template="crm/widget_accounts.html",
                   permission="crm.account.read", context=_accounts_by_industry, order=13)]


def _accounts_by_industry() -> dict:
    from plugins.crm.models import Account
    from plugins.crm.options import INDUSTRY
    from plugins.crm.rules import scope_by

    rows = db.session.execute(scope_by(Account.owner_id)(
        sa.select(Account.industry, sa.func.count()).group_by(Account.industry)
        .order_by(sa.func.count().desc()))).all()
    rows = [(INDUSTRY.label_of(industry) or "Unspecified", n) for industry, n in rows]
    return {"rows": rows, "total": sum(n for _, n in rows)}


@hookimpl
def on_module_installed(event):
    # inspected on the install's own connection: its new tables are not committed yet
    if event.name == "crm" and event.first_time and \
            sa.inspect(db.session.connection()).has_table("crm_pipeline"):
        from plugins.crm.services import ensure_default_pipeline

        ensure_default_pipeline()


@hookimpl
def register_cli_commands():
    from plugins.crm.cli import crm_group

    return [crm_group]


@hookimpl
def search(query, limit):
    from core.records import search_records
    from plugins.crm.records import ACCOUNT, CONTACT, DEAL, LEAD

    return (search_records(ACCOUNT, query, limit, "Account", lambda a: a.domain or "")
            + search_records(CONTACT, query, limit, "Contact", lambda c: c.email or "")
            + search_records(LEAD, query, limit, "Lead", lambda l: l.company or "")
            + search_records(DEAL, query, limit, "Deal", lambda d: f"{d.stage_name} · {d.amount} {d.currency}"))


@hookimpl
def load_demo_data(progress):
    from plugins.crm.demo import load

    load(progress)


@hookimpl
def register_scheduled_jobs():
    """The automation rules, every five minutes in ``tandem worker``."""
    from core.contrib import ScheduledJob

    def automate():
        from plugins.crm.work import run_automation

        result = run_automation()
        return f"{result['tasks_created']} follow-up tasks, {result['leads_assigned']} leads assigned"

    return [ScheduledJob("crm.automation", 300, automate)]
