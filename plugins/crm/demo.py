"""Demo data: a sales team's few months of accounts, contacts, leads, deals, activities,
tasks, quotes, cases and campaigns. Deterministic (seeded), made through the services."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa

from core.auth.models import User
from core.db import db
from plugins.crm import services, work
from plugins.crm.models import SIZES
from plugins.crm.options import INDUSTRY, LOST_REASON, SOURCE

NAMES = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
         "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oceanic", "Nakatomi", "Aperture",
         "Massive", "Dunder", "Prestige", "Monarch", "Pied Piper", "Wernham", "Sterling", "Bluth", "Krusty")
SUFFIXES = ("Industries", "Trading", "Supplies", "Logistics", "Foods", "Systems", "Partners", "Labs")
FIRST = ("Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kara",
         "Liam", "Mona", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera")
LAST = ("Smith", "Meyer", "Rossi", "Dubois", "Novak", "Silva", "Jensen", "Kowalski", "Brown", "Khan",
        "Garcia", "Müller", "Andersen", "Costa", "Nakamura", "O'Brien")
TITLES = ("CEO", "Purchasing manager", "CTO", "Operations lead", "Office manager", "Buyer")
PRODUCTS = (("Onboarding workshop", Decimal("1200.00")), ("Annual licence", Decimal("4800.00")),
            ("Support plan", Decimal("900.00")), ("Hardware kit", Decimal("350.00")),
            ("Consulting day", Decimal("950.00")))


def load(progress) -> None:
    """Fill the CRM with plausible data (about 700 records)."""
    rng = random.Random(7)
    sources, industries = _offered(SOURCE), _offered(INDUSTRY)
    lost_reasons = [r for r in ("price", "competitor", "budget", "timing") if r in _offered(LOST_REASON)] \
        or _offered(LOST_REASON)
    today = dt.date.today()
    owners = [u.id for u in db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id))]
    pipeline = services.ensure_default_pipeline()
    open_stages = [s for s in pipeline.stages if not s.closed]

    campaigns = []
    for i, (name, channel) in enumerate((("Spring newsletter", "email"), ("Trade fair", "event"),
                                         ("Search ads", "web"), ("Partner webinar", "partner"))):
        start = today - dt.timedelta(days=150 - 35 * i)
        campaigns.append(services.create_campaign({"name": f"{name} {start.year}", "channel": channel,
                                                   "starts_on": start, "ends_on": start + dt.timedelta(days=30),
                                                   "cost": Decimal(rng.randrange(500, 8000)), "currency": "EUR"}))
        progress(1)

    accounts = []
    for first in NAMES:
        for suffix in rng.sample(SUFFIXES, 4):
            name = f"{first} {suffix}"
            accounts.append(services.create_account({
                "name": name, "domain": f"{first}-{suffix}.example".lower().replace(" ", ""),
                "industry": rng.choice(industries), "size": rng.choice(SIZES),
                "phone": f"+1 555 {rng.randint(1000, 9999)}", "tags": rng.choice(["key", "new", ""]),
                "address": f"{rng.randint(1, 999)} Market Street", "owner_id": rng.choice(owners)}))
            progress(1)

    contacts = []
    for account in accounts:
        for _ in range(rng.randint(1, 3)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            contacts.append(services.create_contact({
                "name": f"{first} {last}", "account_id": account.id, "owner_id": account.owner_id,
                "email": f"{first}.{last}{len(contacts)}@{account.domain}".lower().replace("'", ""),
                "phone": f"+1 555 {rng.randint(1000, 9999)}", "job_title": rng.choice(TITLES),
                "source": rng.choice(sources)}))
            progress(1)

    for i in range(80):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(LAST)} {rng.choice(SUFFIXES)}"
        lead = services.create_lead({
            "name": f"{first} {last}", "company": company,
            "email": f"{first}.{last}{i}@{company.split()[0].lower().replace(chr(39), '')}{i}.example".lower(),
            "source": rng.choice(sources), "industry": rng.choice(industries),
            "territory": rng.choice(("North", "South", "East", "West")),
            "campaign_id": rng.choice(campaigns).id if rng.random() < 0.6 else None,
            "owner_id": rng.choice(owners) if i % 4 else None,
            "status": rng.choice(("new", "contacted", "qualified"))})
        if i % 5 == 0:
            services.convert_lead(lead, {"create_deal": i % 10 == 0, "amount": Decimal(rng.randrange(1000, 20000))})
        progress(1)

    deals = []
    for i in range(150):
        contact = rng.choice(contacts)
        deal = services.create_deal({
            "title": f"{rng.choice(PRODUCTS)[0]} for {contact.account_name}", "account_id": contact.account_id,
            "contact_id": contact.id, "amount": Decimal(rng.randrange(500, 60000)), "currency": "EUR",
            "expected_close": today + dt.timedelta(days=rng.randint(-30, 150)),
            "owner_id": contact.owner_id, "source": rng.choice(sources),
            "campaign_id": rng.choice(campaigns).id if rng.random() < 0.4 else None,
            "stage_id": rng.choice(open_stages).id})
        deal.created_at = dt.datetime.combine(today - dt.timedelta(days=rng.randint(5, 180)), dt.time(9))
        fate = rng.random()
        if fate < 0.2:
            services.win_deal(deal, "demo data")
            deal.won_at = deal.created_at + dt.timedelta(days=rng.randint(7, 90))
        elif fate < 0.32:
            services.lose_deal(deal, rng.choice(lost_reasons))
        deals.append(deal)
        progress(1)

    kinds = ("call", "email", "meeting", "note")
    for i in range(220):
        deal = rng.choice(deals)
        work.log_activity({"kind": rng.choice(kinds), "subject": rng.choice(
            ("Intro call", "Sent brochure", "Demo", "Pricing discussion", "Follow-up", "Checked in")),
            "body": "Notes from the conversation.", "deal_id": deal.id, "contact_id": deal.contact_id,
            "author_id": deal.owner_id,
            "occurred_at": dt.datetime.combine(today - dt.timedelta(days=rng.randint(0, 120)), dt.time(10))})
        progress(1)

    for i in range(60):
        deal = rng.choice(deals)
        task = work.create_task({"title": rng.choice(("Call back", "Send proposal", "Book demo", "Check contract")),
                                 "due_on": today + dt.timedelta(days=rng.randint(-10, 20)),
                                 "assignee_id": deal.owner_id, "deal_id": deal.id})
        if rng.random() < 0.3:
            work.set_task_done(task)
        progress(1)

    for deal in [d for d in deals if d.status == "open"][:40]:
        lines = [{"description": name, "quantity": Decimal(rng.randint(1, 5)), "unit_price": price,
                  "discount": Decimal(rng.choice((0, 0, 5, 10))), "tax_rate": Decimal("20")}
                 for name, price in rng.sample(PRODUCTS, rng.randint(1, 3))]
        quote = work.create_quote({"deal_id": deal.id, "lines": lines,
                                   "valid_until": today + dt.timedelta(days=30)})
        if rng.random() < 0.5:
            work.send_quote(quote)
        progress(1)

    for i in range(40):
        contact = rng.choice(contacts)
        case = services.create_case({"subject": rng.choice(("Late delivery", "Invoice question", "Broken item",
                                                            "Login problem", "Change of address")),
                                     "description": "Reported by phone.", "account_id": contact.account_id,
                                     "contact_id": contact.id, "owner_id": contact.owner_id,
                                     "priority": rng.choice(("low", "normal", "high"))})
        if rng.random() < 0.4:
            services.resolve_case(case, "Explained and closed with the customer.")
        progress(1)

    work.create_rule({"name": "Follow up quiet deals", "kind": "stale_deal", "days": 14})
    work.create_rule({"name": "Round robin new leads", "kind": "assign_lead",
                      "assignee_ids": ",".join(map(str, owners[:3]))})
    progress(2)


def _offered(option_list) -> list[str]:
    """The slugs a new record may take from an option list (its active options)."""
    return [slug for slug, _ in option_list.offered()]
