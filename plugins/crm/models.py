"""CRM records: accounts, contacts, leads, pipelines, deals, activities, tasks, quotes,
cases, campaigns, and the small tables behind teams, automation and notifications.

Relationships to users (owner, author, assignee) are not joined into each row: a
business has few users, and once one is loaded the session finds it without SQL.
Joining them, and through accounts and contacts their owners in turn, made every deal
load eight joins.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth.models import User
from core.db import Money, Quantity, Timestamped, db, utcnow

# sources, industries, channels and lost reasons are option lists: see plugins.crm.options
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
LEAD_STATUSES = ("new", "contacted", "qualified", "converted", "disqualified")
ACTIVITY_KINDS = ("call", "email", "meeting", "note")
QUOTE_STATES = ("draft", "sent", "accepted", "rejected")
CASE_STATUSES = ("open", "in_progress", "resolved", "closed")
CASE_PRIORITIES = ("low", "normal", "high", "urgent")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "JPY")


class Owned:
    """Records with an owner (record rules narrow lists and look-ups by owner)."""

    @property
    def owner_name(self) -> str | None:
        return self.owner.name if self.owner else None


class Team(Timestamped, db.Model):
    """A sales team: its manager sees every record its members own."""

    __tablename__ = "crm_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    manager: Mapped[User | None] = relationship(User)
    members: Mapped[list[User]] = relationship(User, secondary=lambda: team_member, lazy="selectin")

    @property
    def manager_name(self) -> str | None:
        return self.manager.name if self.manager else None

    @property
    def member_ids(self) -> list[int]:
        return [u.id for u in self.members]

    @property
    def member_names(self) -> str:
        return ", ".join(u.name for u in self.members)


team_member = sa.Table(
    "crm_team_member", db.metadata,
    sa.Column("team_id", sa.ForeignKey("crm_team.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True),
)


class Account(Owned, Timestamped, db.Model):
    """An organisation the business talks to (a customer or a prospect)."""

    __tablename__ = "crm_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    domain: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    industry: Mapped[str | None] = mapped_column(sa.String(50))
    size: Mapped[str | None] = mapped_column(sa.String(20))
    address: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    tags: Mapped[str | None] = mapped_column(sa.String(500))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    owner: Mapped[User | None] = relationship(User)


class Contact(Owned, Timestamped, db.Model):
    """A person; may work for an account or stand alone."""

    __tablename__ = "crm_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    email_alt: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    mobile: Mapped[str | None] = mapped_column(sa.String(50))
    job_title: Mapped[str | None] = mapped_column(sa.String(120))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    tags: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[str | None] = mapped_column(sa.String(50))
    revision: Mapped[int] = mapped_column(default=1)
    owner: Mapped[User | None] = relationship(User)
    account: Mapped[Account | None] = relationship(lambda: Account, lazy="joined")

    @property
    def account_name(self) -> str | None:
        return self.account.name if self.account else None


class Campaign(Timestamped, db.Model):
    """A marketing effort leads and deals are attributed to."""

    __tablename__ = "crm_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    channel: Mapped[str | None] = mapped_column(sa.String(30))
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")


class Lead(Owned, Timestamped, db.Model):
    """Someone who showed interest and is not qualified yet."""

    __tablename__ = "crm_lead"
    __state__ = "status"
    __state_columns__ = ("status", "converted_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    company: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    source: Mapped[str | None] = mapped_column(sa.String(50))
    industry: Mapped[str | None] = mapped_column(sa.String(50))
    territory: Mapped[str | None] = mapped_column(sa.String(50))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_campaign.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="new", index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    converted_at: Mapped[dt.datetime | None]
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_contact.id"))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"))
    deal_id: Mapped[int | None]  # the deal made at conversion (crm_deal.lead_id points back)
    owner: Mapped[User | None] = relationship(User)
    campaign: Mapped[Campaign | None] = relationship(lambda: Campaign, lazy="joined")

    @property
    def campaign_name(self) -> str | None:
        return self.campaign.name if self.campaign else None


class Pipeline(Timestamped, db.Model):
    """An ordered series of stages deals move through."""

    __tablename__ = "crm_pipeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    stages: Mapped[list[Stage]] = relationship(lambda: Stage, order_by=lambda: Stage.position, lazy="selectin",
                                               back_populates="pipeline")

    @property
    def stage_names(self) -> str:
        return " › ".join(s.name for s in self.stages)


class Stage(db.Model):
    """A step of a pipeline, with the probability a deal there usually has."""

    __tablename__ = "crm_stage"
    __table_args__ = (sa.UniqueConstraint("pipeline_id", "name"),
                      sa.CheckConstraint("probability >= 0 AND probability <= 100", name="probability"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_pipeline.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    position: Mapped[int] = mapped_column(default=0)
    probability: Mapped[int] = mapped_column(default=0)
    is_won: Mapped[bool] = mapped_column(default=False)
    is_lost: Mapped[bool] = mapped_column(default=False)
    pipeline: Mapped[Pipeline] = relationship(lambda: Pipeline, back_populates="stages")

    @property
    def closed(self) -> bool:
        return self.is_won or self.is_lost


class Deal(Owned, Timestamped, db.Model):
    """A sales opportunity moving through a pipeline."""

    __tablename__ = "crm_deal"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount"),
                      sa.CheckConstraint("probability >= 0 AND probability <= 100", name="probability"),
                      # a stage's deals, largest first: the pipeline's list and board
                      sa.Index("ix_crm_deal_stage_amount", "stage_id", "amount", "id"),
                      # the forecast reads the open stages' deals from the index alone
                      sa.Index("ix_crm_deal_forecast", "stage_id", "expected_close", "currency", "amount",
                               "probability", "owner_id"))
    __state__ = "status"  # open, won or lost: read from its stage
    __state_columns__ = ("stage_id", "won_at", "lost_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_contact.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    pipeline_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_pipeline.id"), index=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_stage.id"), index=True)
    probability: Mapped[int] = mapped_column(default=0)
    expected_close: Mapped[dt.date | None] = mapped_column(index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    source: Mapped[str | None] = mapped_column(sa.String(50))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_campaign.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_lead.id"))
    lost_reason: Mapped[str | None] = mapped_column(sa.String(500))  # a slug of crm.lost_reason
    lost_note: Mapped[str | None] = mapped_column(sa.String(500))
    won_at: Mapped[dt.datetime | None]
    lost_at: Mapped[dt.datetime | None]
    override_reason: Mapped[str | None] = mapped_column(sa.String(500))
    last_activity_at: Mapped[dt.datetime | None]
    revision: Mapped[int] = mapped_column(default=1)
    owner: Mapped[User | None] = relationship(User)
    account: Mapped[Account | None] = relationship(lambda: Account, lazy="joined")
    contact: Mapped[Contact | None] = relationship(lambda: Contact, lazy="joined")
    stage: Mapped[Stage] = relationship(lambda: Stage, lazy="joined")
    # Not joined: lists and the API show neither, and a deal's few pipelines and campaigns
    # are found in the session once loaded (a join here loaded them with every deal).
    pipeline: Mapped[Pipeline] = relationship(lambda: Pipeline)
    campaign: Mapped[Campaign | None] = relationship(lambda: Campaign)

    @property
    def account_name(self) -> str | None:
        return self.account.name if self.account else None

    @property
    def contact_name(self) -> str | None:
        return self.contact.name if self.contact else None

    @property
    def stage_name(self) -> str:
        return self.stage.name

    @property
    def status(self) -> str:
        return "won" if self.stage.is_won else "lost" if self.stage.is_lost else "open"


class Activity(Timestamped, db.Model):
    """A call, email, meeting or note on a contact, account and/or deal (or a lead)."""

    __tablename__ = "crm_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str | None] = mapped_column(sa.Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_contact.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_deal.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_lead.id"), index=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(300), unique=True)
    author: Mapped[User | None] = relationship(User)

    @property
    def author_name(self) -> str | None:
        return self.author.name if self.author else None


class Task(Timestamped, db.Model):
    """A follow-up someone must do by a date."""

    __tablename__ = "crm_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    due_on: Mapped[dt.date | None] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    done: Mapped[bool] = mapped_column(default=False, index=True)
    done_at: Mapped[dt.datetime | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_contact.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_deal.id"), index=True)
    automation_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    assignee: Mapped[User | None] = relationship(User)

    @property
    def assignee_name(self) -> str | None:
        return self.assignee.name if self.assignee else None

    @property
    def overdue(self) -> bool:
        return not self.done and self.due_on is not None and self.due_on < dt.date.today()

    @property
    def state(self) -> str:
        return "done" if self.done else "overdue" if self.overdue else "open"


class Quote(Timestamped, db.Model):
    """A priced offer on a deal; a new version keeps the number and bumps ``version``."""

    __tablename__ = "crm_quote"
    __table_args__ = (sa.UniqueConstraint("number", "version"),)
    __state__ = "state"
    __state_columns__ = ("state", "decided_at", "sent_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(30), index=True)
    version: Mapped[int] = mapped_column(default=1)
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_deal.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), default="draft")
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    valid_until: Mapped[dt.date | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    tax_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    sent_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    deal: Mapped[Deal] = relationship(lambda: Deal, lazy="joined")
    lines: Mapped[list[QuoteLine]] = relationship(lambda: QuoteLine, order_by=lambda: QuoteLine.position, lazy="selectin",
                                                  cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def deal_title(self) -> str:
        return self.deal.title


class QuoteLine(db.Model):
    """One line of a quote; ``product_ref`` points at a catalogue product if any."""

    __tablename__ = "crm_quote_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity"),
                      sa.CheckConstraint("discount >= 0 AND discount <= 100", name="discount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_quote.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.String(500))
    product_ref: Mapped[str | None] = mapped_column(sa.String(100))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    discount: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class Case(Owned, Timestamped, db.Model):
    """A service ticket from a customer."""

    __tablename__ = "crm_case"
    __state__ = "status"
    __state_columns__ = ("status", "resolved_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_contact.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    priority: Mapped[str] = mapped_column(sa.String(10), default="normal")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_user.id"), index=True)
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    resolved_at: Mapped[dt.datetime | None]
    owner: Mapped[User | None] = relationship(User)
    account: Mapped[Account | None] = relationship(lambda: Account, lazy="joined")

    @property
    def account_name(self) -> str | None:
        return self.account.name if self.account else None


class AutomationRule(Timestamped, db.Model):
    """A rule ``tandem crm automate`` applies.

    ``stale_deal``: an open deal with no activity for ``days`` gets a follow-up task for
    its owner. ``assign_lead``: a new lead without owner gets one, round robin among
    ``assignee_ids`` or, when ``match_field``/``match_value`` are set, only for leads
    whose field matches (territory, industry or source).
    """

    __tablename__ = "crm_automation_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(20))
    days: Mapped[int | None]
    match_field: Mapped[str | None] = mapped_column(sa.String(20))
    match_value: Mapped[str | None] = mapped_column(sa.String(100))
    assignee_ids: Mapped[str | None] = mapped_column(sa.String(500))  # comma-separated user ids
    next_index: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def assignees(self) -> list[int]:
        return [int(x) for x in (self.assignee_ids or "").split(",") if x.strip().isdigit()]


class Notification(db.Model):
    """An in-app message for one user (new task, lead assigned)."""

    __tablename__ = "crm_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(sa.String(500))
    url: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[dt.datetime | None]


class CaptureAttempt(db.Model):
    """One submission of the public lead form, kept to rate-limit per client address."""

    __tablename__ = "crm_capture_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
