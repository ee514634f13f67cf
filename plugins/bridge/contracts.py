"""Contract renewals: N days (settings) before a contract's schedule ends, a renewal deal
is opened in CRM for the account's owner. Run by ``tandem worker``; safe to run often."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.db import db
from plugins.bridge import services
from plugins.bridge.models import Contract
from plugins.crm.models import Account, Deal
from plugins.crm.services import create_deal


def open_renewals(today: dt.date | None = None) -> list[Deal]:
    """Open the renewal deal of every contract ending within the notice period (once each)."""
    today = today or dt.date.today()
    notice = dt.timedelta(days=services.get_settings().renewal_days)
    due = db.session.scalars(sa.select(Contract).where(
        Contract.ends_on.is_not(None), Contract.renewal_deal_id.is_(None),
        Contract.ends_on <= today + notice).order_by(Contract.id).with_for_update()).all()
    created = []
    for contract in due:
        deal = db.session.get(Deal, contract.deal_id)
        account = db.session.get(Account, deal.account_id) if deal.account_id else None
        renewal = create_deal({"title": f"Renewal: {deal.title}"[:200], "account_id": deal.account_id,
                               "contact_id": deal.contact_id, "amount": deal.amount, "currency": deal.currency,
                               "expected_close": contract.ends_on,
                               "owner_id": (account.owner_id if account else None) or deal.owner_id,
                               "source": deal.source})
        contract.renewal_deal_id = renewal.id
        db.session.add(Contract(deal_id=renewal.id, period=contract.period, term_months=contract.term_months))
        services.note_on_deal(deal.id, f"Renewal deal opened: {renewal.title}")
        created.append(renewal)
    db.session.flush()
    return created


def run_renewals() -> str | None:
    """The scheduled job: a summary for the worker's log."""
    created = open_renewals()
    return f"{len(created)} renewal deal(s) opened" if created else None
