"""Hooks the CRM emits and the questions it asks. Other plugins implement them; CRM never
knows who listens or answers.

Events (``on_*``) are called through ``core.events.emit``: once per idempotency key,
inside the transaction of the action that fired them, with a frozen dataclass. A handler
that raises refuses the action (the user sees the plugin's reason) and everything the
action wrote is rolled back. Their results are ignored.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from core import hookspec
from core.contrib import Panel

if TYPE_CHECKING:
    from plugins.crm.models import Case

# --- payloads ---


@dataclass(frozen=True)
class AccountChanged:
    """An account was created, changed or merged into another (``merged_into``).

    ``changed`` names the fields that changed (all of them on creation);
    ``actor_id`` is the user who made the change, if any.
    """

    account_id: int
    name: str
    domain: str | None
    created: bool
    changed: tuple[str, ...]
    actor_id: int | None
    merged_into: int | None = None


@dataclass(frozen=True)
class ContactChanged:
    """A contact was created, changed or merged into another (``merged_into``)."""

    contact_id: int
    name: str
    email: str | None
    account_id: int | None
    created: bool
    changed: tuple[str, ...]
    actor_id: int | None
    merged_into: int | None = None


@dataclass(frozen=True)
class DealStageChanged:
    """A deal moved from one stage to another (``from_stage_id`` is None on creation)."""

    deal_id: int
    from_stage_id: int | None
    to_stage_id: int
    to_stage: str
    actor_id: int | None


@dataclass(frozen=True)
class DealWon:
    """A deal was won. ``override_reason`` is set when a blocking problem was overridden."""

    deal_id: int
    account_id: int | None
    amount: Decimal
    currency: str
    actor_id: int | None
    override_reason: str | None = None


@dataclass(frozen=True)
class DealLost:
    """A deal was lost, with the reason the user chose: ``reason`` is a slug of the
    ``crm.lost_reason`` option list (``price``, ``competitor``...)."""

    deal_id: int
    account_id: int | None
    amount: Decimal
    currency: str
    reason: str
    actor_id: int | None


@dataclass(frozen=True)
class CaseResolved:
    """A service case was resolved; ``resolution`` says in words what was agreed."""

    case_id: int
    account_id: int | None
    contact_id: int | None
    subject: str
    resolution: str
    actor_id: int | None


@dataclass(frozen=True)
class DealProblem:
    """A reason not to win a deal now. ``blocking`` problems refuse the win unless the
    user holds ``override_permission`` and gives a reason; others are warnings. A plugin
    reporting a problem of its own names its own permission (the bridge: ``bridge.override``
    for credit and stock)."""

    code: str
    message: str
    blocking: bool = True
    plugin: str = ""
    override_permission: str = "crm.deal.override"


@dataclass(frozen=True)
class DealToWin:
    """What ``check_deal_won`` implementations look at."""

    deal_id: int
    account_id: int | None
    amount: Decimal
    currency: str
    expected_close: dt.date | None


@dataclass(frozen=True)
class CatalogProduct:
    """A product a quote line may refer to; ``ref`` is the answering plugin's reference."""

    ref: str
    name: str
    unit_price: Decimal
    currency: str
    tax_rate: Decimal = Decimal("0")


@dataclass(frozen=True)
class ExchangeRates:
    """What amounts in several currencies are worth in one: ``rates[(code, date)]`` is what
    one unit of currency ``code`` was worth on ``date`` in ``currency`` (the company currency
    of the books)."""

    currency: str
    rates: dict[tuple[str, dt.date], Decimal]


@dataclass(frozen=True)
class Availability:
    """How much of a product can be delivered (``available`` in the product's unit)."""

    ref: str
    available: Decimal
    note: str = ""


# --- events ---


@hookspec
def on_account_changed(event: AccountChanged) -> None:
    """An account was created or edited.

    Called inside the transaction that changed the account, after the change is
    flushed; raising refuses the change (the user sees the plugin's reason).
    Emitted once per change (key ``account:<id>:changed:<n>``).
    """


@hookspec
def on_contact_changed(event: ContactChanged) -> None:
    """A contact was created, edited or merged into another contact.

    Called inside the transaction of the change, after it is flushed; raising refuses it.
    Key ``contact:<id>:changed:<n>`` (``contact:<id>:merged`` for a merge).
    """


@hookspec
def on_deal_stage_changed(event: DealStageChanged) -> None:
    """A deal entered a new stage (board move, edit, win or loss, creation).

    Called inside the transaction of the move; raising refuses the move.
    Key ``deal:<id>:stage:<n>``.
    """


@hookspec
def on_deal_won(event: DealWon) -> None:
    """A deal was won (moved to its pipeline's won stage by ``win_deal``).

    Called inside the ``win_deal`` transaction, after ``on_deal_stage_changed``; raising
    refuses the win. Key ``deal:<id>:won``: winning a deal twice has one effect.
    The bridge turns the deal into an order here.
    """


@hookspec
def on_deal_lost(event: DealLost) -> None:
    """A deal was lost (``lose_deal``). Called inside its transaction; key ``deal:<id>:lost``."""


@hookspec
def on_case_resolved(event: CaseResolved) -> None:
    """A service case was resolved with ``event.resolution``.

    Called inside the transaction of ``resolve_case``; raising refuses the resolution.
    Key ``case:<id>:resolved``: resolving a case twice has one effect.
    """


# --- checks and queries ---


@hookspec
def check_deal_won(deal: DealToWin) -> list[DealProblem]:
    """Problems that should stop ``deal`` from being won now (credit limit, stock).

    Called by ``win_deal`` inside its transaction, before anything changes; must only read.
    Each implementation returns a list of ``DealProblem`` (or None); the results of all
    implementations are concatenated. Any ``blocking`` problem refuses the win with a 409
    listing every reason, unless the user may override and gives a reason.
    """


@hookspec(firstresult=True)
def case_resolve_form(case: Case) -> Panel | None:
    """The form that resolves ``case`` in place of CRM's own, from a plugin that
    resolves cases with more than words: the bridge adds the credit note a resolution agrees.

    Called while the case page renders, inside the request; must only read. Stops at the
    first non-None answer (a panel whose template is the whole form, posting to the
    plugin's action, which resolves through ``resolve_case``); None keeps CRM's form.
    """


@hookspec
def product_catalog(query: str, limit: int) -> list[CatalogProduct]:
    """Products matching ``query`` (name or reference) for quote lines, at most ``limit``.

    Called while a quote is edited, inside the request; must only read. Results of all
    implementations are concatenated; with no implementation, quote lines are free text.
    """


@hookspec(firstresult=True)
def product_availability(refs: list[str]) -> dict[str, Availability] | None:
    """Availability of the products ``refs`` (references from ``product_catalog``).

    Called when a quote is shown, inside the request; must only read. Stops at the first
    non-None answer (one plugin masters stock); None means availability is unknown.
    """


@hookspec(firstresult=True)
def exchange_rates(pairs: list[tuple[str, dt.date]]) -> ExchangeRates | None:
    """The rates that turn amounts of ``pairs`` (currency, date) into one currency, for
    reports adding amounts of several currencies (campaigns: each won deal at the rate of
    its win date).

    Called while a report is computed, inside the request; must only read. Stops at the
    first non-None answer (one plugin keeps the books). A pair without a rate is left out
    of ``rates``: its amounts stay in their own currency, as all do when nobody answers.
    """
