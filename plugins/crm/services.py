"""CRM business operations: the only code that changes CRM records and emits CRM events."""
from __future__ import annotations

from flask import has_request_context
from flask_login import current_user

from core.auth.models import User
from core.db import db
from core.errors import ValidationFailed
from core.events import emit
from plugins.crm.hookspecs import AccountChanged
from plugins.crm.models import Account

ACCOUNT_FIELDS = ("name", "domain", "industry", "size", "address", "phone", "tags", "owner_id")


def _actor_id() -> int | None:
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def _check_owner(owner_id: int | None) -> None:
    if owner_id is not None and db.session.get(User, owner_id) is None:
        raise ValidationFailed({"owner_id": [f"No user with id {owner_id}."]})


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
    _check_owner(data.get("owner_id"))
    account = Account(**{k: data.get(k) for k in ACCOUNT_FIELDS})
    if account.owner_id is None:
        account.owner_id = _actor_id()
    db.session.add(account)
    db.session.flush()
    _account_changed(account, created=True, changed=ACCOUNT_FIELDS)
    return account


def update_account(account: Account, data: dict) -> Account:
    """Change an account's fields; emits ``on_account_changed`` when something changed."""
    data = _normalise(data)
    if "owner_id" in data:
        _check_owner(data["owner_id"])
    changed = tuple(k for k in ACCOUNT_FIELDS if k in data and getattr(account, k) != data[k])
    for key in changed:
        setattr(account, key, data[key])
    if changed:
        account.revision += 1
        db.session.flush()
        _account_changed(account, created=False, changed=changed)
    return account


def _account_changed(account: Account, created: bool, changed: tuple[str, ...]) -> None:
    emit("on_account_changed",
         AccountChanged(account_id=account.id, name=account.name, domain=account.domain,
                        created=created, changed=tuple(changed), actor_id=_actor_id()),
         key=f"account:{account.id}:changed:{account.revision}")
