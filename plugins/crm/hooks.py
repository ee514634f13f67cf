"""How the CRM plugs into the kernel."""
import random

import sqlalchemy as sa

from core import hookimpl
from core.contrib import MenuItem, Permission, Role, Widget
from core.db import db


@hookimpl
def register_blueprints():
    from plugins.crm import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("crm.account.read", "See accounts"),
        Permission("crm.account.write", "Create and edit accounts"),
    ]


@hookimpl
def register_roles():
    return [Role("Sales rep", "Works the customer relationship",
                 ("crm.account.read", "crm.account.write"))]


@hookimpl
def register_menu():
    return [MenuItem("Accounts", "crm.account_list", "crm.account.read", order=10, icon="accounts")]


@hookimpl
def register_dashboard_widgets():
    return [Widget(name="crm.accounts", title="Accounts by industry",
                   template="crm/widget_accounts.html", permission="crm.account.read",
                   context=_accounts_by_industry, order=10)]


def _accounts_by_industry() -> dict:
    from plugins.crm.models import Account

    rows = db.session.execute(
        sa.select(Account.industry, sa.func.count()).group_by(Account.industry)
        .order_by(sa.func.count().desc())).all()
    rows = [(industry or "Unspecified", n) for industry, n in rows]
    return {"rows": rows, "total": sum(n for _, n in rows)}


@hookimpl
def search(query, limit):
    from core.records import search_records
    from plugins.crm.records import ACCOUNT

    return search_records(ACCOUNT, query, limit, "Account", lambda a: a.domain or "")


DEMO_NAMES = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
              "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oceanic", "Nakatomi")
DEMO_SUFFIXES = ("Industries", "Trading", "Supplies", "Logistics", "Foods", "Systems")


@hookimpl
def load_demo_data(progress):
    from plugins.crm import services
    from plugins.crm.models import INDUSTRIES, SIZES

    rng = random.Random(7)
    for first in DEMO_NAMES:
        for suffix in rng.sample(DEMO_SUFFIXES, 2):
            name = f"{first} {suffix}"
            services.create_account({
                "name": name, "domain": f"{first}-{suffix}.example".lower(),
                "industry": rng.choice(INDUSTRIES), "size": rng.choice(SIZES),
                "phone": f"+1 555 {rng.randint(1000, 9999)}", "tags": rng.choice(["key", "new", ""]),
                "address": f"{rng.randint(1, 999)} Market Street"})
            progress(1)
