"""Record rules: a sales rep sees and edits the records they own, a sales manager those
of the teams they manage, a holder of ``crm.record.all`` (the admin) everything.

Every list, look-up by id, export, board and report narrows its query through these
helpers, so a record out of scope is simply not found (404).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_request_context
from flask_login import current_user

from core.db import db
from plugins.crm.models import Account, Activity, Contact, Deal, Quote, Team, team_member

ALL_RECORDS = "crm.record.all"


def visible_owner_ids() -> set[int] | None:
    """Ids of the users whose records the current user may see; None means everyone's.

    Outside a request (CLI, demo data, scheduler) nothing is narrowed.
    """
    if not has_request_context() or not current_user.is_authenticated:
        return None
    if current_user.can(ALL_RECORDS):
        return None
    cached = g.get("crm_visible_owner_ids")
    if cached is None:
        managed = sa.select(team_member.c.user_id).join(Team, Team.id == team_member.c.team_id) \
            .where(Team.manager_id == current_user.id)
        cached = {current_user.id, *db.session.scalars(managed)}
        g.crm_visible_owner_ids = cached
    return cached


def owned_by_visible(column):
    """A WHERE clause keeping rows whose ``column`` (an owner id) the user may see, or None."""
    ids = visible_owner_ids()
    return None if ids is None else column.in_(ids)


def scope_by(column):
    """A ``RecordType.scope`` function narrowing a select by the owner ``column``."""
    def scope(stmt):
        clause = owned_by_visible(column)
        return stmt if clause is None else stmt.where(clause)

    return scope


def _ids_of(model):
    return sa.select(model.id).where(owned_by_visible(model.owner_id))


def scope_activities(stmt):
    """An activity is visible with its author or with any record it is logged on."""
    ids = visible_owner_ids()
    if ids is None:
        return stmt
    return stmt.where(sa.or_(Activity.author_id.in_(ids), Activity.deal_id.in_(_ids_of(Deal)),
                             Activity.contact_id.in_(_ids_of(Contact)),
                             Activity.account_id.in_(_ids_of(Account))))


def scope_quotes(stmt):
    """A quote is visible with its deal."""
    ids = visible_owner_ids()
    return stmt if ids is None else stmt.where(Quote.deal_id.in_(_ids_of(Deal)))
