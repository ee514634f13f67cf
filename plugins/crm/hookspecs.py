"""Hooks the CRM emits. Other plugins implement them; CRM never knows who listens."""
from __future__ import annotations

from dataclasses import dataclass

from core import hookspec


@dataclass(frozen=True)
class AccountChanged:
    """An account was created or changed.

    ``changed`` names the fields that changed (all of them on creation);
    ``actor_id`` is the user who made the change, if any.
    """

    account_id: int
    name: str
    domain: str | None
    created: bool
    changed: tuple[str, ...]
    actor_id: int | None


@hookspec
def on_account_changed(event: AccountChanged) -> None:
    """An account was created or edited.

    Called inside the transaction that changed the account, after the change is
    flushed; raising refuses the change (the user sees the plugin's reason).
    Emitted once per change (key ``account:<id>:changed:<n>``).
    """
