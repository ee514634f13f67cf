"""The daily work around records: activities (and logged emails), tasks, automation
rules, notifications and quotes. Like ``services``, the only code changing these records.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from core.db import db, utcnow
from core.errors import RuleViolation, ValidationFailed
from core.registry import current_registry
from core.states import lock, state_change
from plugins.crm import rules
from plugins.crm.models import (QUOTE_STATES, Account, Activity, AutomationRule, Contact, Deal, Lead,
                                Notification, Quote, QuoteLine, Stage, Task)
from plugins.crm.options import LEAD_MATCH
from plugins.crm.services import _check_ref, _check_user, actor_id, contacts_by_email

CENT = Decimal("0.01")
LINK_FIELDS = (("contact_id", Contact, "contact"), ("account_id", Account, "account"),
               ("deal_id", Deal, "deal"))
ACTIVITY_FIELDS = ("kind", "subject", "body", "occurred_at", "contact_id", "account_id", "deal_id", "lead_id")
TASK_FIELDS = ("title", "due_on", "assignee_id", "notes", "contact_id", "account_id", "deal_id")
RULE_FIELDS = ("name", "kind", "days", "match_field", "match_value", "assignee_ids", "position", "active")


def _links(data: dict) -> dict:
    """Check the contact/account/deal a record is linked to; fill the account from them."""
    data = dict(data)
    found = {}
    for field, model, label in LINK_FIELDS:
        if data.get(field) is not None:
            found[field] = _check_ref(field, model, data[field], label)
    if data.get("account_id") is None:
        for field in ("deal_id", "contact_id"):
            if found.get(field) is not None and found[field].account_id is not None:
                data["account_id"] = found[field].account_id
                break
    return data


# --- activities ---


def _activity_links(data: dict) -> dict:
    """``_links``, and the lead an activity may be logged on."""
    data = _links(data)
    if data.get("lead_id") is not None:
        _check_ref("lead_id", Lead, data["lead_id"], "lead")
    return data


def log_activity(data: dict) -> Activity:
    """Log a call, email, meeting or note on a contact, account, deal and/or lead."""
    data = _activity_links(data)
    if not any(data.get(k) is not None for k in ("contact_id", "account_id", "deal_id", "lead_id")):
        raise ValidationFailed({"_schema": ["Log the activity on a contact, an account or a deal."]})
    activity = Activity(**{k: data[k] for k in ACTIVITY_FIELDS if data.get(k) is not None})
    activity.author_id = data.get("author_id") or actor_id()
    activity.message_id = data.get("message_id")
    activity.occurred_at = activity.occurred_at or utcnow()
    db.session.add(activity)
    db.session.flush()
    _touch_deal(activity)
    return activity


def update_activity(activity: Activity, data: dict) -> Activity:
    """Correct an activity's fields."""
    data = _activity_links(data)
    for key in ACTIVITY_FIELDS:
        if key in data:
            setattr(activity, key, data[key])
    db.session.flush()
    _touch_deal(activity)
    return activity


def add_system_note(deal_id: int, subject: str, body: str | None = None) -> Activity:
    """A note another module writes on a deal's timeline (and its account's).

    Not narrowed by the actor's record rules, unlike ``log_activity``: an accountant
    posting an invoice may not see the deal, yet the deal's owner must learn of it.
    """
    deal = db.session.get(Deal, deal_id)
    activity = Activity(kind="note", subject=subject[:300], body=body, deal_id=deal_id,
                        account_id=deal.account_id if deal else None, author_id=actor_id(),
                        occurred_at=utcnow())
    db.session.add(activity)
    db.session.flush()
    _touch_deal(activity)
    return activity


def _touch_deal(activity: Activity) -> None:
    if activity.deal_id is not None:
        db.session.execute(sa.update(Deal).where(Deal.id == activity.deal_id, sa.or_(
            Deal.last_activity_at.is_(None), Deal.last_activity_at < activity.occurred_at))
            .values(last_activity_at=activity.occurred_at))


def parse_email(raw: str) -> dict:
    """The parts of a raw RFC 822 message a CRM keeps."""
    import email.policy  # imported here: the email package costs every worker ~60 ms at start
    import email.utils
    message = email.message_from_string(raw, policy=email.policy.default)
    if not message.get("From"):
        raise ValidationFailed({"raw": ["Not an email: it has no From header."]})
    body = message.get_body(preferencelist=("plain", "html"))
    when = None
    if message.get("Date"):
        try:
            when = email.utils.parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            when = None
    return {"from": str(message["From"]), "to": [str(a) for a in message.get_all("To", [])]
            + [str(a) for a in message.get_all("Cc", [])],
            "subject": str(message.get("Subject", "")), "body": body.get_content() if body else "",
            "date": when, "message_id": str(message["Message-ID"]).strip() if message.get("Message-ID") else None}


def log_email(data: dict) -> Activity:
    """Log an email (raw RFC 822 in ``raw``, or its parts) on the contact whose address
    matches the sender, else a recipient. The same Message-ID is logged once."""
    parts = parse_email(data["raw"]) if data.get("raw") else data
    if parts.get("message_id"):
        known = db.session.scalar(sa.select(Activity).where(Activity.message_id == parts["message_id"]))
        if known is not None:
            return known
    import email.utils

    addresses = [a for _, a in email.utils.getaddresses([parts.get("from") or ""] + list(parts.get("to") or []))]
    contact = next((found[0] for a in addresses if (found := contacts_by_email(a))), None)
    if contact is None:
        raise RuleViolation("no contact has any of the addresses " + ", ".join(a for a in addresses if a),
                            code="no_matching_contact")
    when = parts.get("date")
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return log_activity({"kind": "email", "subject": (parts.get("subject") or "(no subject)")[:300],
                         "body": parts.get("body"), "occurred_at": when, "contact_id": contact.id,
                         "deal_id": data.get("deal_id"), "message_id": parts.get("message_id")})


# --- tasks ---


def create_task(data: dict) -> Task:
    """A follow-up for someone (the current user unless ``assignee_id``); notifies the assignee."""
    data = _links(data)
    _check_user("assignee_id", data.get("assignee_id"))
    task = Task(**{k: data[k] for k in TASK_FIELDS if data.get(k) is not None})
    task.assignee_id = task.assignee_id or actor_id()
    task.automation_key = data.get("automation_key")
    db.session.add(task)
    db.session.flush()
    if task.assignee_id and task.assignee_id != actor_id():
        notify(task.assignee_id, f"New task for you: {task.title}", f"/crm/tasks/{task.id}")
    return task


def update_task(task: Task, data: dict) -> Task:
    """Change a task; ``done`` ticks it off (or opens it again)."""
    data = _links(data)
    if "assignee_id" in data:
        _check_user("assignee_id", data["assignee_id"])
    for key in TASK_FIELDS:
        if key in data:
            setattr(task, key, data[key])
    if "done" in data:
        set_task_done(task, data["done"])
    db.session.flush()
    return task


def set_task_done(task: Task, done: bool = True) -> Task:
    """Tick a task off, or open it again."""
    if task.done != done:
        task.done, task.done_at = done, utcnow() if done else None
        db.session.flush()
    return task


# --- automation ---


def create_rule(data: dict) -> AutomationRule:
    """An automation rule (see ``AutomationRule``)."""
    rule = AutomationRule()
    db.session.add(rule)
    return update_rule(rule, {"active": True, **data})


def update_rule(rule: AutomationRule, data: dict) -> AutomationRule:
    """Change an automation rule; checks its assignees exist and the rule is complete."""
    for key in RULE_FIELDS:
        if key in data:
            setattr(rule, key, data[key])
    for user_id in rule.assignees:
        _check_user("assignee_ids", user_id)
    if rule.kind == "stale_deal" and not rule.days:
        raise ValidationFailed({"days": ["Say after how many days without activity."]})
    if rule.kind == "assign_lead" and not rule.assignees:
        raise ValidationFailed({"assignee_ids": ["Name at least one user to assign leads to."]})
    if bool(rule.match_field) != bool(rule.match_value):
        raise ValidationFailed({"match_value": ["Give both the field and the value to match."]})
    if rule.match_field in LEAD_MATCH:
        try:  # a source or an industry: the slug the leads hold ("Cold call" read as cold_call)
            rule.match_value = LEAD_MATCH[rule.match_field].clean(rule.match_value, offered_only=False)
        except ValueError as exc:
            raise ValidationFailed({"match_value": [str(exc)]}) from None
    db.session.flush()
    return rule


def run_automation(now: dt.datetime | None = None) -> dict:
    """Apply every active rule once: follow-up tasks for stale deals, owners for new leads.

    Safe to run as often as wanted (a scheduler or ``tandem crm automate``): a deal gets
    one follow-up per quiet period, a lead is assigned once.
    """
    now = now or utcnow()
    active = list(db.session.scalars(sa.select(AutomationRule).where(AutomationRule.active.is_(True))
                                     .order_by(AutomationRule.position, AutomationRule.id)))
    tasks = sum(_follow_up_stale_deals(rule, now) for rule in active if rule.kind == "stale_deal")
    assigned = _assign_new_leads([r for r in active if r.kind == "assign_lead"])
    return {"tasks_created": tasks, "leads_assigned": assigned}


def _follow_up_stale_deals(rule: AutomationRule, now: dt.datetime) -> int:
    last = sa.func.coalesce(Deal.last_activity_at, Deal.created_at)
    stale = db.session.execute(
        sa.select(Deal.id, Deal.title, Deal.owner_id, last).join(Stage, Stage.id == Deal.stage_id)
        .where(Stage.is_won.is_(False), Stage.is_lost.is_(False), Deal.owner_id.is_not(None),
               last < now - dt.timedelta(days=rule.days))).all()
    created = 0
    for deal_id, title, owner_id, since in stale:
        key = f"stale:{rule.id}:{deal_id}:{since:%Y%m%d%H%M%S}"
        if db.session.scalar(sa.select(Task.id).where(Task.automation_key == key)):
            continue
        task = Task(title=f"Follow up on “{title}” (no activity for {rule.days} days)", due_on=now.date(),
                    assignee_id=owner_id, deal_id=deal_id, automation_key=key)
        db.session.add(task)
        db.session.flush()
        notify(owner_id, task.title, f"/crm/tasks/{task.id}")
        created += 1
    return created


def _assign_new_leads(rules_: list[AutomationRule]) -> int:
    if not rules_:
        return 0
    leads = db.session.scalars(sa.select(Lead).where(Lead.owner_id.is_(None), Lead.status == "new")
                               .order_by(Lead.id)).all()
    assigned = 0
    for lead in leads:
        rule = next((r for r in rules_ if not r.match_field or
                     (getattr(lead, r.match_field, None) or "").strip().lower() == r.match_value.strip().lower()),
                    None)
        if rule is None:
            continue
        lead.owner_id = rule.assignees[rule.next_index % len(rule.assignees)]
        rule.next_index += 1
        notify(lead.owner_id, f"New lead assigned to you: {lead.name}", f"/crm/leads/{lead.id}")
        assigned += 1
    db.session.flush()
    return assigned


# --- notifications ---


def notify(user_id: int, message: str, url: str | None = None) -> Notification:
    """An in-app notification for a user."""
    note = Notification(user_id=user_id, message=message[:500], url=url)
    db.session.add(note)
    db.session.flush()
    return note


def mark_notifications_read(user_id: int, ids: list[int] | None = None) -> int:
    """Mark the user's notifications (all, or ``ids``) read; returns how many."""
    stmt = sa.update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids:
        stmt = stmt.where(Notification.id.in_(ids))
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount


# --- quotes ---


def catalog(query: str, limit: int = 20) -> list:
    """Products other plugins offer for quote lines (empty when none answers)."""
    return [p for found in current_registry().hook.product_catalog(query=query, limit=limit)
            for p in (found or [])]


def availability(refs: list[str]) -> dict:
    """Availability by product reference, empty when no plugin answers."""
    if not refs:
        return {}
    return current_registry().hook.product_availability(refs=refs) or {}


def _line(position: int, data: dict) -> QuoteLine:
    """A priced line; a product reference fills what the line leaves out from the catalogue."""
    data = dict(data)
    ref = (data.get("product_ref") or "").strip() or None
    if ref and (not data.get("description") or data.get("unit_price") is None):
        product = next((p for p in catalog(ref) if p.ref == ref), None)
        if product is None and not data.get("description"):
            raise ValidationFailed({f"lines.{position}.product_ref": [f"No product {ref!r} in the catalogue."]})
        if product is not None:
            data.setdefault("description", product.name)
            data["description"] = data["description"] or product.name
            if data.get("unit_price") is None:
                data["unit_price"] = product.unit_price
            if data.get("tax_rate") is None:
                data["tax_rate"] = product.tax_rate
    if not data.get("description"):
        raise ValidationFailed({f"lines.{position}.description": ["Describe the line."]})
    line = QuoteLine(position=position, description=data["description"], product_ref=ref,
                     quantity=Decimal(data.get("quantity") or 1),
                     unit_price=Decimal(data.get("unit_price") or 0),
                     discount=Decimal(data.get("discount") or 0), tax_rate=Decimal(data.get("tax_rate") or 0))
    line.net = (line.quantity * line.unit_price * (100 - line.discount) / 100).quantize(CENT, ROUND_HALF_UP)
    line.tax = (line.net * line.tax_rate / 100).quantize(CENT, ROUND_HALF_UP)
    return line


def _set_lines(quote: Quote, lines: list[dict]) -> None:
    quote.lines = [_line(i, d) for i, d in enumerate(lines)]
    quote.subtotal = sum((l.net for l in quote.lines), Decimal("0.00"))
    quote.tax_total = sum((l.tax for l in quote.lines), Decimal("0.00"))
    quote.total = quote.subtotal + quote.tax_total


def _next_number() -> str:
    count = db.session.scalar(sa.select(sa.func.count(sa.distinct(Quote.number)))) or 0
    number = f"Q-{count + 1:05d}"
    while db.session.scalar(sa.select(Quote.id).where(Quote.number == number)):
        count += 1
        number = f"Q-{count + 1:05d}"
    return number


def create_quote(data: dict) -> Quote:
    """A draft quote on a deal, numbered ``Q-00001``, version 1, totals computed."""
    deal = _check_ref("deal_id", Deal, data.get("deal_id"), "deal")
    if deal is None:
        raise ValidationFailed({"deal_id": ["Choose the deal the quote is for."]})
    quote = Quote(number=_next_number(), version=1, deal_id=deal.id, state="draft",
                  currency=data.get("currency") or deal.currency, valid_until=data.get("valid_until"),
                  notes=data.get("notes"))
    _set_lines(quote, data.get("lines") or [])
    db.session.add(quote)
    db.session.flush()
    return quote


def quote_lock(quote: Quote) -> str | None:
    """Why ``quote`` cannot be changed (it is no longer a draft), or None."""
    if quote.state == "draft":
        return None
    return f"Quote {quote.title} is {quote.state}; make a new version to change it."


def update_quote(quote: Quote, data: dict) -> Quote:
    """Change a draft quote (its lines are replaced when ``lines`` is given)."""
    lock(quote)
    if reason := quote_lock(quote):
        raise RuleViolation(reason, code="quote_not_draft")
    for key in ("currency", "valid_until", "notes"):
        if key in data:
            setattr(quote, key, data[key])
    if "lines" in data:
        _set_lines(quote, data["lines"])
    db.session.flush()
    return quote


@state_change(Quote, "revise", states=QUOTE_STATES)
def new_quote_version(quote: Quote) -> Quote:
    """A draft copy of a quote with the next version number; the copied one, if sent, is rejected."""
    last = db.session.scalar(sa.select(sa.func.max(Quote.version)).where(Quote.number == quote.number))
    copy = Quote(number=quote.number, version=last + 1, deal_id=quote.deal_id, state="draft",
                 currency=quote.currency, valid_until=quote.valid_until, notes=quote.notes)
    _set_lines(copy, [{"description": l.description, "product_ref": l.product_ref, "quantity": l.quantity,
                       "unit_price": l.unit_price, "discount": l.discount, "tax_rate": l.tax_rate}
                      for l in quote.lines])
    if quote.state in ("draft", "sent"):
        quote.state, quote.decided_at = "rejected", utcnow()
    db.session.add(copy)
    db.session.flush()
    return copy


@state_change(Quote, "send", states=("draft", "sent"))
def send_quote(quote: Quote) -> Quote:
    """Mark a draft quote sent (it can no longer change)."""
    if quote.state == "sent":
        return quote
    if not quote.lines:
        raise RuleViolation("a quote needs at least one line before it is sent", code="quote_empty")
    quote.state, quote.sent_at = "sent", utcnow()
    db.session.flush()
    return quote


@state_change(Quote, "accept", states=("draft", "sent", "accepted"))
def accept_quote(quote: Quote) -> Quote:
    """The customer accepted: the deal's amount becomes the quote's net total (before
    tax) in its currency; other open versions are rejected.

    The deal is locked too: two quotes of one deal accepted at once are accepted one
    after the other, and the deal's amount is the later one's, as its order will be."""
    if quote.state == "accepted":
        return quote
    lock(quote.deal)
    if quote.deal.stage.closed:
        raise RuleViolation(f"deal “{quote.deal.title}” is {quote.deal.status}", code="deal_closed")
    if not quote.lines:
        raise RuleViolation("an empty quote cannot be accepted", code="quote_empty")
    quote.state, quote.decided_at = "accepted", utcnow()
    db.session.execute(sa.update(Quote).where(Quote.number == quote.number, Quote.id != quote.id,
                                              Quote.state.in_(("draft", "sent")))
                       .values(state="rejected", decided_at=utcnow()))
    from plugins.crm.services import update_deal

    update_deal(quote.deal, {"amount": quote.subtotal, "currency": quote.currency})
    return quote


@state_change(Quote, "reject", states=("draft", "sent", "rejected"))
def reject_quote(quote: Quote) -> Quote:
    """The customer turned the quote down."""
    if quote.state == "rejected":
        return quote
    quote.state, quote.decided_at = "rejected", utcnow()
    db.session.flush()
    return quote


def quote_action(quote: Quote, verb: str) -> Quote:
    """``send``, ``accept``, ``reject`` or ``revise`` a quote (404 for another verb)."""
    from core.errors import NotFound

    actions = {"send": send_quote, "accept": accept_quote, "reject": reject_quote, "revise": new_quote_version}
    if verb not in actions:
        raise NotFound(f"no quote action {verb!r}; choose from {', '.join(actions)}")
    return actions[verb](quote)


def scoped(model, stmt):
    """``stmt`` narrowed by the record rules of ``model``'s rows."""
    return {Activity: rules.scope_activities, Quote: rules.scope_quotes,
            Task: rules.scope_by(Task.assignee_id)}.get(model, lambda s: s)(stmt)
