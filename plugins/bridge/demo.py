"""Demo data: a few CRM demo deals won through the bridge, end to end where possible."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from plugins.crm.models import Deal, Stage


def load(progress) -> None:
    """Win up to three open demo deals with an account (each in a savepoint: a deal the
    bridge refuses, e.g. over its credit limit, stays open)."""
    from plugins.crm.services import win_deal

    deals = db.session.scalars(sa.select(Deal).join(Stage, Stage.id == Deal.stage_id).where(
        Stage.is_won.is_(False), Stage.is_lost.is_(False), Deal.account_id.is_not(None), Deal.amount > 0)
        .order_by(Deal.id).limit(3)).all()
    for deal in deals:
        try:
            with db.session.begin_nested():
                win_deal(deal)
        except Exception:  # noqa: BLE001 - a refused demo win is part of the story
            pass
        progress(1)
