"""CRM business operations: the only code that changes CRM records and emits CRM events.

Services never commit: a request (or ``core.db.transaction()`` in the CLI) does.
Quotes, activities, tasks and automation live in ``plugins.crm.work``; imports and
exports in ``plugins.crm.transfer``.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from core.auth.models import User
from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, TandemError, ValidationFailed
from core.events import emit
from core.records import ensure_unique
from core.states import lock, state_change
from core.registry import current_registry
from plugins.crm import rules
from plugins.crm.hookspecs import (AccountChanged, CaseResolved, ContactChanged, DealLost,
                                   DealStageChanged, DealToWin, DealWon)
from plugins.crm.models import (CASE_STATUSES, LEAD_STATUSES, Account, Activity, CaptureAttempt, Campaign,
                                Case, Contact, Deal, Lead, Pipeline, Stage, Task, Team)
from plugins.crm.options import LOST_REASON

ACCOUNT_FIELDS = ("name", "domain", "industry", "size", "address", "phone", "tags", "owner_id")
CONTACT_FIELDS = ("name", "email", "email_alt", "phone", "mobile", "job_title", "account_id",
                  "owner_id", "tags", "source")
LEAD_FIELDS = ("name", "company", "email", "phone", "source", "industry", "territory",
               "campaign_id", "status", "owner_id", "notes")
DEAL_FIELDS = ("title", "account_id", "contact_id", "amount", "currency", "probability",
               "expected_close", "owner_id", "source", "campaign_id")
CASE_FIELDS = ("subject", "description", "account_id", "contact_id", "priority", "owner_id", "status")
CAMPAIGN_FIELDS = ("name", "channel", "starts_on", "ends_on", "cost", "currency")
DEFAULT_STAGES = (("New", 10, False, False), ("Qualified", 25, False, False),
                  ("Proposal", 50, False, False), ("Negotiation", 75, False, False),
                  ("Won", 100, True, False), ("Lost", 0, False, True))
FREE_MAIL = {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
             "icloud.com", "aol.com", "gmx.net", "gmx.de", "web.de", "proton.me", "protonmail.com"}
LEGAL_SUFFIXES = {"inc", "ltd", "llc", "gmbh", "sa", "sas", "sarl", "plc", "corp", "co", "ag",
                  "limited", "corporation", "company", "bv", "nv", "srl", "spa", "oy", "ab"}
CAPTURE_WINDOW = dt.timedelta(minutes=10)


class TooManyRequests(TandemError):
    """A client sent more submissions than the rate limit allows (429)."""

    status = 429
    code = "rate_limited"


# --- shared helpers ---


def actor_id() -> int | None:
    """The logged-in user, if the code runs inside a request."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def _check_user(field: str, user_id: int | None) -> None:
    if user_id is not None and db.session.get(User, user_id) is None:
        raise ValidationFailed({field: [f"No user with id {user_id}."]})


def _check_ref(field: str, model, record_id: int | None, label: str):
    """The referenced record, which the user must be allowed to see (else 422)."""
    if record_id is None:
        return None
    stmt = sa.select(model).where(model.id == record_id)
    owner = getattr(model, "owner_id", None)
    if owner is not None:
        clause = rules.owned_by_visible(owner)
        if clause is not None:
            stmt = stmt.where(clause)
    found = db.session.scalar(stmt)
    if found is None:
        raise ValidationFailed({field: [f"No {label} with id {record_id}."]})
    return found


def _email(value: str | None) -> str | None:
    return value.strip().lower() if value and value.strip() else None


def _apply(record, data: dict, fields: tuple[str, ...]) -> tuple[str, ...]:
    """Set the given fields that differ; returns the names of those that changed."""
    changed = tuple(k for k in fields if k in data and getattr(record, k) != data[k])
    for key in changed:
        setattr(record, key, data[key])
    return changed


def _null_as_zero(data: dict, field: str) -> dict:
    """A cleared amount (null) is zero, as on create: the column holds no null."""
    return {**data, field: Decimal("0.00")} if field in data and data[field] is None else data


def domain_of_email(email: str | None) -> str | None:
    """The company domain of an address, None for free-mail providers."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if domain in FREE_MAIL else domain


def normalised_name(name: str) -> str:
    """An organisation name without case, punctuation or legal suffix ("ACME, Inc." -> "acme")."""
    words = re.sub(r"[^\w\s]", " ", (name or "").lower()).split()
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


# --- accounts ---


def _normalise(data: dict) -> dict:
    data = dict(data)
    if data.get("domain"):
        data["domain"] = data["domain"].strip().lower()
    if data.get("name"):
        data["name"] = data["name"].strip()
    return data


def create_account(data: dict) -> Account:
    """Create an account and emit ``on_account_changed`` (``created=True``)."""
    data = _normalise(data)
    _check_user("owner_id", data.get("owner_id"))
    account = Account(**{k: data.get(k) for k in ACCOUNT_FIELDS})
    if account.owner_id is None:
        account.owner_id = actor_id()
    db.session.add(account)
    db.session.flush()
    _account_changed(account, created=True, changed=ACCOUNT_FIELDS)
    return account


def update_account(account: Account, data: dict) -> Account:
    """Change an account's fields; emits ``on_account_changed`` when something changed."""
    data = _normalise(data)
    if "owner_id" in data:
        _check_user("owner_id", data["owner_id"])
    changed = _apply(account, data, ACCOUNT_FIELDS)
    if changed:
        account.revision += 1
        db.session.flush()
        _account_changed(account, created=False, changed=changed)
    return account


def _account_changed(account: Account, created: bool, changed: tuple[str, ...],
                     merged_into: int | None = None) -> None:
    emit("on_account_changed",
         AccountChanged(account_id=account.id, name=account.name, domain=account.domain,
                        created=created, changed=tuple(changed), actor_id=actor_id(),
                        merged_into=merged_into),
         key=f"account:{account.id}:" + (f"merged:{merged_into}" if merged_into
                                          else f"changed:{account.revision}"))


def duplicate_accounts(name: str | None = None, domain: str | None = None,
                       exclude_id: int | None = None) -> list[Account]:
    """Accounts with the same domain or the same normalised name (the user's scope only)."""
    found: dict[int, Account] = {}
    base = rules.scope_by(Account.owner_id)(sa.select(Account)).where(Account.id != (exclude_id or -1))
    if domain and domain.strip():
        for a in db.session.scalars(base.where(Account.domain == domain.strip().lower()).limit(10)):
            found[a.id] = a
    key = normalised_name(name or "")
    if key:
        first = key.split()[0]
        candidates = db.session.scalars(base.where(Account.name.ilike(f"%{first}%")).limit(200))
        for a in candidates:
            if normalised_name(a.name) == key:
                found[a.id] = a
    return list(found.values())[:10]


# --- contacts ---


def _contact_data(data: dict) -> dict:
    data = dict(data)
    for key in ("email", "email_alt"):
        if key in data:
            data[key] = _email(data[key])
    if data.get("name"):
        data["name"] = data["name"].strip()
    if "owner_id" in data:
        _check_user("owner_id", data["owner_id"])
    if data.get("account_id") is not None:
        _check_ref("account_id", Account, data["account_id"], "account")
    return data


def create_contact(data: dict) -> Contact:
    """Create a contact (with or without an account); emits ``on_contact_changed``."""
    data = _contact_data(data)
    contact = Contact(**{k: data.get(k) for k in CONTACT_FIELDS})
    if contact.owner_id is None:
        contact.owner_id = actor_id()
    db.session.add(contact)
    db.session.flush()
    _contact_changed(contact, created=True, changed=CONTACT_FIELDS)
    return contact


def update_contact(contact: Contact, data: dict) -> Contact:
    """Change a contact's fields; emits ``on_contact_changed`` when something changed."""
    changed = _apply(contact, _contact_data(data), CONTACT_FIELDS)
    if changed:
        contact.revision += 1
        db.session.flush()
        _contact_changed(contact, created=False, changed=changed)
    return contact


def _contact_changed(contact: Contact, created: bool, changed, merged_into: int | None = None):
    emit("on_contact_changed",
         ContactChanged(contact_id=contact.id, name=contact.name, email=contact.email,
                        account_id=contact.account_id, created=created, changed=tuple(changed),
                        actor_id=actor_id(), merged_into=merged_into),
         key=f"contact:{contact.id}:" + ("merged" if merged_into else f"changed:{contact.revision}"))


def contacts_by_email(email: str | None, exclude_id: int | None = None, scoped: bool = True) -> list[Contact]:
    """Contacts whose main or second address is ``email`` (case-insensitive)."""
    email = _email(email)
    if not email:
        return []
    stmt = sa.select(Contact).where(sa.or_(Contact.email == email, Contact.email_alt == email),
                                    Contact.id != (exclude_id or -1)).order_by(Contact.id)
    if scoped:
        stmt = rules.scope_by(Contact.owner_id)(stmt)
    return list(db.session.scalars(stmt.limit(10)))


# --- leads ---


def _lead_data(data: dict) -> dict:
    data = dict(data)
    if "email" in data:
        data["email"] = _email(data["email"])
    if "owner_id" in data:
        _check_user("owner_id", data["owner_id"])
    if data.get("campaign_id") is not None:
        _check_ref("campaign_id", Campaign, data["campaign_id"], "campaign")
    if data.get("status") == "converted":
        raise ValidationFailed({"status": ["A lead becomes converted by converting it."]})
    return data


def create_lead(data: dict) -> Lead:
    """Record a new lead (status ``new`` unless given)."""
    data = _lead_data(data)
    lead = Lead(**{k: data.get(k) for k in LEAD_FIELDS if k in data})
    lead.status = data.get("status") or "new"
    db.session.add(lead)
    db.session.flush()
    return lead


def update_lead(lead: Lead, data: dict) -> Lead:
    """Change a lead; a converted lead keeps its status."""
    lock(lead)
    if lead.status == "converted" and data.get("status") not in (None, "converted"):
        raise RuleViolation("a converted lead stays converted", code="lead_converted")
    data.pop("status", None) if lead.status == "converted" else None
    _apply(lead, _lead_data(data), LEAD_FIELDS)
    db.session.flush()
    return lead


@state_change(Lead, "convert", states=tuple(s for s in LEAD_STATUSES if s != "converted"))
def convert_lead(lead: Lead, data: dict) -> Lead:
    """Qualify a lead: reuse or create its account (by email domain, then company name)
    and its contact (by email), optionally open a deal; the lead's activities follow.

    Never duplicates: an existing account or contact is reused. Converting twice is refused
    (409 ``invalid_state``).
    """
    domain = domain_of_email(lead.email)
    account = None
    if domain:
        account = db.session.scalar(sa.select(Account).where(Account.domain == domain).order_by(Account.id))
    if account is None and lead.company:
        key = normalised_name(lead.company)
        account = next((a for a in db.session.scalars(
            sa.select(Account).where(Account.name.ilike(f"%{key.split()[0] if key else lead.company}%"))
            .order_by(Account.id).limit(200)) if normalised_name(a.name) == key), None)
    if account is None and lead.company:
        account = create_account({"name": lead.company, "domain": domain, "industry": lead.industry,
                                  "phone": None, "owner_id": lead.owner_id or actor_id()})
    existing = contacts_by_email(lead.email, scoped=False)
    contact = existing[0] if existing else None
    if contact is None:
        contact = create_contact({"name": lead.name, "email": lead.email, "phone": lead.phone,
                                  "account_id": account.id if account else None,
                                  "owner_id": lead.owner_id or actor_id(), "source": lead.source})
    elif contact.account_id is None and account is not None:
        update_contact(contact, {"account_id": account.id})
    deal = None
    if data.get("create_deal"):
        deal = create_deal({"title": data.get("deal_title") or f"{lead.company or lead.name}",
                            "account_id": account.id if account else None, "contact_id": contact.id,
                            "amount": data.get("amount") or Decimal("0.00"),
                            "currency": data.get("currency") or "EUR",
                            "pipeline_id": data.get("pipeline_id"),
                            "expected_close": data.get("expected_close"),
                            "owner_id": lead.owner_id or actor_id(), "source": lead.source,
                            "campaign_id": lead.campaign_id}, lead_id=lead.id)
    db.session.execute(sa.update(Activity).where(Activity.lead_id == lead.id).values(
        contact_id=contact.id, account_id=account.id if account else None))
    lead.status, lead.converted_at = "converted", utcnow()
    lead.contact_id, lead.account_id = contact.id, account.id if account else None
    lead.deal_id = deal.id if deal else None
    db.session.add(Activity(kind="note", subject=f"Converted from lead “{lead.name}”", lead_id=lead.id,
                            contact_id=contact.id, account_id=lead.account_id, deal_id=lead.deal_id,
                            author_id=actor_id(), body=lead.notes))
    db.session.flush()
    return lead


def capture_lead(data: dict, remote_addr: str, limit: int) -> Lead | None:
    """A lead from the public form. Returns None (creating nothing) when the honeypot
    field is filled; refuses with 429 beyond ``limit`` submissions per address in 10 minutes."""
    since = utcnow() - CAPTURE_WINDOW
    recent = db.session.scalar(sa.select(sa.func.count()).select_from(CaptureAttempt).where(
        CaptureAttempt.remote_addr == remote_addr, CaptureAttempt.at >= since))
    if recent >= limit:
        raise TooManyRequests("Too many submissions from your address; try again in a few minutes.")
    db.session.add(CaptureAttempt(remote_addr=remote_addr[:64]))
    if data.pop("homepage", None):
        db.session.flush()
        return None
    message = data.pop("message", None)
    data = {**data, "notes": message, "source": data.get("source") or "website", "status": "new"}
    return create_lead(data)


# --- pipelines ---


def create_pipeline(name: str, stages=DEFAULT_STAGES, is_default: bool = False) -> Pipeline:
    """A pipeline with its ordered stages ``(name, probability, is_won, is_lost)``.

    A pipeline needs exactly one won and one lost stage, and at least one open stage.
    """
    stages = [tuple(s) for s in stages]
    if sum(1 for s in stages if s[2]) != 1 or sum(1 for s in stages if s[3]) != 1 \
            or not any(not s[2] and not s[3] for s in stages):
        raise ValidationFailed({"stages": ["Give open stages, exactly one won and one lost stage."]})
    if len({s[0].strip().lower() for s in stages}) != len(stages):
        raise ValidationFailed({"stages": ["Stage names must differ."]})
    if db.session.scalar(sa.select(Pipeline.id).where(Pipeline.name == name)):
        raise ValidationFailed({"name": [f"A pipeline named {name!r} exists."]})
    if is_default:
        db.session.execute(sa.update(Pipeline).values(is_default=False))
    pipeline = Pipeline(name=name, is_default=is_default)
    db.session.add(pipeline)
    db.session.flush()
    for position, (stage_name, probability, won, lost) in enumerate(stages):
        if not 0 <= int(probability) <= 100:
            raise ValidationFailed({"stages": [f"Probability of {stage_name} must be 0 to 100."]})
        db.session.add(Stage(pipeline_id=pipeline.id, name=stage_name.strip(), position=position,
                             probability=int(probability), is_won=won, is_lost=lost))
    db.session.flush()
    db.session.refresh(pipeline)
    return pipeline


def create_pipeline_from(data: dict) -> Pipeline:
    """A pipeline from API or form input: ``stages`` (dicts) or ``stage_lines``
    ("Name, probability[, won|lost]" a line); the default stages when neither is given."""
    if data.get("stages"):
        stages = [(s["name"], s.get("probability", 0), s.get("is_won", False), s.get("is_lost", False))
                  for s in data["stages"]]
    elif (data.get("stage_lines") or "").strip():
        stages = []
        for number, line in enumerate(data["stage_lines"].strip().splitlines(), start=1):
            parts = [p.strip() for p in line.split(",")]
            if not parts[0] or (len(parts) > 1 and not parts[1].isdigit()) or \
                    (len(parts) > 2 and parts[2].lower() not in ("won", "lost")):
                raise ValidationFailed({"stage_lines": [f"Line {number}: write 'Name, probability[, won|lost]'."]})
            flag = parts[2].lower() if len(parts) > 2 else ""
            stages.append((parts[0], int(parts[1]) if len(parts) > 1 else 0, flag == "won", flag == "lost"))
    else:
        stages = DEFAULT_STAGES
    return create_pipeline(data["name"].strip(), stages, is_default=bool(data.get("is_default")))


def update_pipeline(pipeline: Pipeline, data: dict) -> Pipeline:
    """Rename a pipeline or make it the default (its stages stay: deals stand in them)."""
    if data.get("stages") is not None:
        raise ValidationFailed({"stages": ["Stages are set when the pipeline is created; "
                                           "deals stand in them."]})
    if data.get("name") and data["name"] != pipeline.name:
        if db.session.scalar(sa.select(Pipeline.id).where(Pipeline.name == data["name"])):
            raise ValidationFailed({"name": [f"A pipeline named {data['name']!r} exists."]})
        pipeline.name = data["name"].strip()
    if data.get("is_default"):
        db.session.execute(sa.update(Pipeline).values(is_default=False))
        pipeline.is_default = True
    db.session.flush()
    return pipeline


def ensure_default_pipeline() -> Pipeline:
    """The default pipeline, created (New ... Won, Lost) when there is none."""
    found = db.session.scalar(sa.select(Pipeline).where(Pipeline.is_default.is_(True)))
    if found is None:
        found = db.session.scalar(sa.select(Pipeline).order_by(Pipeline.id))
    return found or create_pipeline("Sales", DEFAULT_STAGES, is_default=True)


def _first_open_stage(pipeline: Pipeline) -> Stage:
    return next(s for s in pipeline.stages if not s.closed)


def _special_stage(pipeline: Pipeline, won: bool) -> Stage:
    return next(s for s in pipeline.stages if (s.is_won if won else s.is_lost))


# --- deals ---


def _deal_data(data: dict) -> dict:
    data = dict(data)
    if "owner_id" in data:
        _check_user("owner_id", data["owner_id"])
    if data.get("account_id") is not None:
        _check_ref("account_id", Account, data["account_id"], "account")
    if data.get("contact_id") is not None:
        _check_ref("contact_id", Contact, data["contact_id"], "contact")
    if data.get("campaign_id") is not None:
        _check_ref("campaign_id", Campaign, data["campaign_id"], "campaign")
    if data.get("title"):
        data["title"] = data["title"].strip()
    return data


def create_deal(data: dict, lead_id: int | None = None) -> Deal:
    """Open a deal in an open stage of its pipeline (the default pipeline's first stage
    unless given); emits ``on_deal_stage_changed`` from no stage."""
    data = _deal_data(data)
    pipeline = (_check_ref("pipeline_id", Pipeline, data["pipeline_id"], "pipeline")
                if data.get("pipeline_id") else ensure_default_pipeline())
    stage = _first_open_stage(pipeline)
    if data.get("stage_id") is not None:
        stage = next((s for s in pipeline.stages if s.id == data["stage_id"]), None)
        if stage is None:
            raise ValidationFailed({"stage_id": [f"Stage {data['stage_id']} is not in pipeline {pipeline.name}."]})
        if stage.closed:
            raise RuleViolation("open the deal in an open stage, then win or lose it", code="stage_closed")
    deal = Deal(**{k: data[k] for k in DEAL_FIELDS if data.get(k) is not None})
    deal.pipeline_id, deal.stage_id, deal.lead_id = pipeline.id, stage.id, lead_id
    if data.get("probability") is None:
        deal.probability = stage.probability
    if deal.owner_id is None:
        deal.owner_id = actor_id()
    deal.amount = deal.amount if deal.amount is not None else Decimal("0.00")
    db.session.add(deal)
    db.session.flush()
    db.session.refresh(deal)
    _stage_changed(deal, None)
    return deal


def update_deal(deal: Deal, data: dict) -> Deal:
    """Change a deal's fields; a ``stage_id`` moves it (see ``move_deal``)."""
    lock(deal)
    data = _null_as_zero(_deal_data(data), "amount")
    if "probability" in data and data["probability"] is None:  # cleared: the stage's, as on create
        data["probability"] = deal.stage.probability
    stage_id = data.pop("stage_id", None)
    data.pop("pipeline_id", None)
    if _apply(deal, data, DEAL_FIELDS):
        deal.revision += 1
        db.session.flush()
    if stage_id is not None and stage_id != deal.stage_id:
        move_deal(deal, stage_id)
    return deal


@state_change(Deal, "move", states=("open", "won", "lost"))
def move_deal(deal: Deal, stage_id: int, override_reason: str | None = None,
              lost_reason: str | None = None, lost_note: str | None = None) -> Deal:
    """Move a deal to another stage of its pipeline (the board's drag and drop).

    Moving to the won stage wins it (``win_deal``, with its checks); to the lost stage
    needs a reason (``lose_deal``). A closed deal does not move.
    """
    stage = next((s for s in deal.pipeline.stages if s.id == stage_id), None)
    if stage is None:
        raise ValidationFailed({"stage_id": [f"Stage {stage_id} is not in the deal's pipeline."]})
    if stage.id == deal.stage_id:
        return deal
    if deal.stage.closed:
        raise RuleViolation(f"deal “{deal.title}” is already {deal.status}", code="deal_closed")
    if stage.is_won:
        return win_deal(deal, override_reason)
    if stage.is_lost:
        if not lost_reason:
            raise RuleViolation("a lost deal needs a reason: use “Mark lost”", code="lost_reason_required")
        return lose_deal(deal, lost_reason, lost_note)
    _set_stage(deal, stage)
    return deal


def _set_stage(deal: Deal, stage: Stage) -> None:
    previous = deal.stage_id
    deal.stage_id, deal.stage = stage.id, stage
    deal.probability = stage.probability
    deal.revision += 1
    db.session.flush()
    _stage_changed(deal, previous)


def _stage_changed(deal: Deal, previous: int | None) -> None:
    emit("on_deal_stage_changed",
         DealStageChanged(deal_id=deal.id, from_stage_id=previous, to_stage_id=deal.stage_id,
                          to_stage=deal.stage.name, actor_id=actor_id()),
         key=f"deal:{deal.id}:stage:{deal.revision}")


def forecast_by_month() -> list[dict]:
    """Open deals by expected close month and currency: count, value and value weighted by
    probability, limited to the deals the current user may see."""
    from plugins.crm import reports

    return reports.forecast()


def deal_problems(deal: Deal) -> list:
    """Every problem other plugins see with winning ``deal`` (``check_deal_won``)."""
    answers = current_registry().hook.check_deal_won(deal=DealToWin(
        deal_id=deal.id, account_id=deal.account_id, amount=deal.amount, currency=deal.currency,
        expected_close=deal.expected_close))
    return [p for found in answers for p in (found or [])]


def may_override(problems: list) -> bool:
    """Whether the current user holds the override permission of every blocking problem."""
    blocking = [p for p in problems if p.blocking]
    return bool(blocking) and has_request_context() and current_user.is_authenticated \
        and all(current_user.can(p.override_permission) for p in blocking)


@state_change(Deal, "win", states=("open", "won"))
def win_deal(deal: Deal, override_reason: str | None = None) -> Deal:
    """Win a deal: ask ``check_deal_won``; refuse (409 ``deal_blocked`` with the reasons) when
    a problem blocks, unless the user holds each blocking problem's override permission
    (``crm.deal.override`` unless the problem names another) and gives a reason; then move it
    to the won stage and emit ``on_deal_won`` (key ``deal:<id>:won``).

    Winning a won deal changes nothing; a lost deal is refused (409 ``invalid_state``).
    """
    if deal.stage.is_won:
        return deal
    blocking = [p for p in deal_problems(deal) if p.blocking]
    reason = (override_reason or "").strip() or None
    if blocking:
        allowed = may_override(blocking)
        if not (reason and allowed):
            hint = (" Give a reason to override." if allowed and not reason else "")
            raise RuleViolation(
                "the deal cannot be won: " + "; ".join(p.message for p in blocking) + "." + hint,
                code="deal_blocked",
                details={"problems": [{"code": p.code, "message": p.message, "plugin": p.plugin,
                                       "override_permission": p.override_permission}
                                      for p in blocking], "can_override": allowed})
        deal.override_reason = reason[:500]
    deal.won_at = utcnow()
    _set_stage(deal, _special_stage(deal.pipeline, won=True))
    emit("on_deal_won", DealWon(deal_id=deal.id, account_id=deal.account_id, amount=deal.amount,
                                currency=deal.currency, actor_id=actor_id(),
                                override_reason=deal.override_reason if blocking else None),
         key=f"deal:{deal.id}:won")
    return deal


@state_change(Deal, "lose", states=("open", "lost"))
def lose_deal(deal: Deal, reason: str, note: str | None = None) -> Deal:
    """Lose a deal with a reason (an active option of ``crm.lost_reason``) and an optional
    note; emits ``on_deal_lost`` (key ``deal:<id>:lost``).

    Losing a lost deal changes nothing; a won deal is refused (409 ``invalid_state``).
    """
    if not (reason or "").strip():
        raise ValidationFailed({"reason": ["Say why the deal was lost."]})
    try:
        reason = LOST_REASON.clean(reason)
    except ValueError as exc:
        raise ValidationFailed({"reason": [str(exc)]}) from None
    if deal.stage.is_lost:
        return deal
    deal.lost_reason, deal.lost_at = reason, utcnow()
    deal.lost_note = (note or "").strip()[:500] or None
    _set_stage(deal, _special_stage(deal.pipeline, won=False))
    emit("on_deal_lost", DealLost(deal_id=deal.id, account_id=deal.account_id, amount=deal.amount,
                                  currency=deal.currency, reason=deal.lost_reason, actor_id=actor_id()),
         key=f"deal:{deal.id}:lost")
    return deal


# --- cases ---


def _case_data(data: dict) -> dict:
    data = dict(data)
    if "owner_id" in data:
        _check_user("owner_id", data["owner_id"])
    if data.get("account_id") is not None:
        _check_ref("account_id", Account, data["account_id"], "account")
    if data.get("contact_id") is not None:
        _check_ref("contact_id", Contact, data["contact_id"], "contact")
    if data.get("status") == "resolved":
        raise ValidationFailed({"status": ["Resolve a case with its resolution (the Resolve action)."]})
    return data


def create_case(data: dict) -> Case:
    """Open a service case."""
    data = _case_data(data)
    case = Case(**{k: data[k] for k in CASE_FIELDS if data.get(k) is not None})
    if case.owner_id is None:
        case.owner_id = actor_id()
    db.session.add(case)
    db.session.flush()
    return case


def update_case(case: Case, data: dict) -> Case:
    """Change a case's fields (not its resolution: see ``resolve_case``)."""
    lock(case)
    if data.get("status") == case.status:  # the status it has is no change (a resolved case re-saved)
        data = {k: v for k, v in data.items() if k != "status"}
    _apply(case, _case_data(data), CASE_FIELDS)
    db.session.flush()
    return case


@state_change(Case, "resolve", states=CASE_STATUSES)
def resolve_case(case: Case, resolution: str) -> Case:
    """Resolve a case and emit ``on_case_resolved`` (key ``case:<id>:resolved``) once."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed({"resolution": ["Say how the case was resolved."]})
    if case.status in ("resolved", "closed"):
        return case
    case.status, case.resolution, case.resolved_at = "resolved", resolution, utcnow()
    db.session.flush()
    emit("on_case_resolved", CaseResolved(case_id=case.id, account_id=case.account_id,
                                          contact_id=case.contact_id, subject=case.subject,
                                          resolution=resolution, actor_id=actor_id()),
         key=f"case:{case.id}:resolved")
    return case


# --- campaigns and teams ---


def create_campaign(data: dict) -> Campaign:
    """A campaign leads and deals can be attributed to."""
    _check_period(data)
    ensure_unique(Campaign.name, data.get("name"), None, "name", "Campaign {id} has this name.")
    campaign = Campaign(**{k: data[k] for k in CAMPAIGN_FIELDS if data.get(k) is not None})
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_campaign(campaign: Campaign, data: dict) -> Campaign:
    """Change a campaign."""
    _check_period({"starts_on": campaign.starts_on, "ends_on": campaign.ends_on, **data})
    if "name" in data:
        ensure_unique(Campaign.name, data["name"], campaign.id, "name", "Campaign {id} has this name.")
    _apply(campaign, _null_as_zero(data, "cost"), CAMPAIGN_FIELDS)
    db.session.flush()
    return campaign


def _check_period(data: dict) -> None:
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        raise ValidationFailed({"ends_on": ["The campaign cannot end before it starts."]})


def create_team(data: dict) -> Team:
    """A sales team: ``manager_id`` sees what ``member_ids`` own."""
    ensure_unique(Team.name, data["name"], None, "name", "Team {id} has this name.")
    team = Team(name=data["name"])
    db.session.add(team)
    return update_team(team, {k: v for k, v in data.items() if k != "name"})


def update_team(team: Team, data: dict) -> Team:
    """Change a team's name, manager or members."""
    if "name" in data:
        ensure_unique(Team.name, data["name"], team.id, "name", "Team {id} has this name.")
        team.name = data["name"]
    if "manager_id" in data:
        _check_user("manager_id", data["manager_id"])
        team.manager_id = data["manager_id"]
    if data.get("member_ids") is not None:
        users = list(db.session.scalars(sa.select(User).where(User.id.in_(data["member_ids"]))))
        missing = set(data["member_ids"]) - {u.id for u in users}
        if missing:
            raise ValidationFailed({"member_ids": [f"No user with id {', '.join(map(str, sorted(missing)))}."]})
        team.members = users
    db.session.flush()
    return team


# --- merges ---

MOVED_WITH_CONTACT = (Deal, Activity, Task, Case)
MOVED_WITH_ACCOUNT = (Contact, Deal, Activity, Task, Case)


def merge_contacts(keep: Contact, other: Contact) -> Contact:
    """Merge ``other`` into ``keep``: its deals, activities, tasks, cases and leads move,
    empty fields of ``keep`` are filled from it, then it is deleted."""
    if keep.id == other.id:
        raise ValidationFailed({"other_id": ["Choose two different contacts."]})
    _lock_pair(keep, other)
    for model in MOVED_WITH_CONTACT:
        db.session.execute(sa.update(model).where(model.contact_id == other.id).values(contact_id=keep.id))
    db.session.execute(sa.update(Lead).where(Lead.contact_id == other.id).values(contact_id=keep.id))
    if other.email and other.email not in (keep.email, keep.email_alt):
        if not keep.email:
            keep.email = other.email
        elif not keep.email_alt:
            keep.email_alt = other.email
    fill = {k: getattr(other, k) for k in CONTACT_FIELDS
            if k not in ("email",) and getattr(keep, k) in (None, "") and getattr(other, k) not in (None, "")}
    _contact_changed(other, created=False, changed=("merged",), merged_into=keep.id)
    db.session.delete(other)
    db.session.flush()
    update_contact(keep, fill)
    return keep


def merge_accounts(keep: Account, other: Account) -> Account:
    """Merge ``other`` into ``keep``: contacts, deals, activities, tasks, cases and leads
    move; empty fields of ``keep`` are filled; ``other`` is deleted. Refused (409) when
    another module still refers to ``other``."""
    if keep.id == other.id:
        raise ValidationFailed({"other_id": ["Choose two different accounts."]})
    _lock_pair(keep, other)
    for model in MOVED_WITH_ACCOUNT:
        db.session.execute(sa.update(model).where(model.account_id == other.id).values(account_id=keep.id))
    db.session.execute(sa.update(Lead).where(Lead.account_id == other.id).values(account_id=keep.id))
    fill = {k: getattr(other, k) for k in ACCOUNT_FIELDS
            if getattr(keep, k) in (None, "") and getattr(other, k) not in (None, "")}
    _account_changed(other, created=False, changed=("merged",), merged_into=keep.id)
    try:
        with db.session.begin_nested():
            db.session.delete(other)
            db.session.flush()
    except sa.exc.IntegrityError as exc:
        raise RuleViolation(f"account “{other.name}” is still linked by another module "
                            f"(e.g. to a finance customer); unlink it first",
                            code="account_in_use") from exc
    update_account(keep, fill)
    return keep


def _lock_pair(keep, other) -> None:
    """Lock both records of a merge, lower id first (two opposite merges cannot deadlock):
    the second of two identical merges finds ``other`` gone (404)."""
    for record in sorted((keep, other), key=lambda r: r.id):
        lock(record)


def get_or_404(model, record_id: int, label: str, scope=None):
    """A record by id within ``scope``, else NotFound."""
    stmt = sa.select(model).where(model.id == record_id)
    if scope:
        stmt = scope(stmt)
    found = db.session.scalar(stmt)
    if found is None:
        raise NotFound(f"{label} {record_id} not found")
    return found
