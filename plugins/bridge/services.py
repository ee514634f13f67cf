"""Bridge operations on the customer master: links, settings, shared-field sync, timeline.

Services never commit. Finance and inventory are optional: they are imported inside the
functions that need them, only when installed.
"""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.registry import current_registry
from core.states import lock
from plugins.bridge.models import INVOICE_POLICIES, AccountLink, Settings
from plugins.crm.models import Account, Activity
from plugins.crm.services import normalised_name, update_account

SHARED_FIELDS = (("name", "name", "synced_name"), ("address", "billing_address", "synced_address"),
                 ("tax_id", "tax_id", "synced_tax_id"))


def installed(name: str) -> bool:
    """Whether plugin ``name`` is installed (the optional ERP sides)."""
    return current_registry().is_installed(name)


def finance():
    """Finance's services module; RuleViolation when finance is not installed."""
    if not installed("erp_finance"):
        raise RuleViolation("the finance module is not installed", code="finance_not_installed")
    from plugins.erp_finance import services

    return services


# --- settings ---


def get_settings() -> Settings:
    """The bridge settings; their defaults (not stored: reading never writes) until changed."""
    found = db.session.get(Settings, 1)
    if found is None:
        found = Settings(id=1, invoice_policy="on_order", shortage_blocking=False,
                         overdue_days=30, renewal_days=30)
    return found


def update_settings(data: dict) -> Settings:
    """Change the invoice policy, shortage handling, overdue days or renewal notice."""
    settings = get_settings()
    db.session.add(settings)
    if "invoice_policy" in data and data["invoice_policy"] not in INVOICE_POLICIES:
        raise ValidationFailed({"invoice_policy": [f"Choose one of {', '.join(INVOICE_POLICIES)}."]})
    for key in ("overdue_days", "renewal_days"):
        if key in data and (data[key] is None or int(data[key]) < 0):
            raise ValidationFailed({key: ["A number of days, 0 or more."]})
    for key in ("invoice_policy", "shortage_blocking", "overdue_days", "renewal_days"):
        if key in data:
            setattr(settings, key, data[key])
    db.session.flush()
    return settings


# --- links ---


def link_for_account(account_id: int) -> AccountLink | None:
    """The link of a CRM account, if it has one."""
    return db.session.scalar(sa.select(AccountLink).where(AccountLink.account_id == account_id))


def link_for_customer(customer_id: int) -> AccountLink | None:
    """The link of a finance customer, if it has one."""
    return db.session.scalar(sa.select(AccountLink).where(AccountLink.customer_id == customer_id))


def _taken(customer_id: int) -> bool:
    return link_for_customer(customer_id) is not None


def matching_customer(account: Account, tax_id: str | None = None):
    """The finance customer that is the same organisation as ``account``, and how it
    matched: by existing link, then tax id, then email domain, then normalised name.
    A customer already linked to another account never matches. Only reads."""
    fin = finance()
    link = link_for_account(account.id)
    if link is not None:
        return fin.get_customer(link.customer_id), "link"
    if tax_id:
        found = fin.find_customer(tax_id=tax_id)
        if found is not None and not _taken(found.id):
            return found, "tax id"
    if account.domain:
        for customer in fin.customers_with_email_domain(account.domain):
            if not _taken(customer.id):
                return customer, "domain"
    found = fin.find_customer(name=account.name)
    if found is not None and normalised_name(found.name) == normalised_name(account.name) \
            and not _taken(found.id):
        return found, "name"
    return None, None


def link_account(account_id: int, tax_id: str | None = None) -> AccountLink:
    """Link a CRM account to its finance customer, creating the customer if none matches.

    Never duplicated (the link table is unique on both sides); linking again returns the
    link. The shared fields are then synced (blanks filled from the other side).
    """
    fin = finance()
    # the account's row lock makes two first wins of one account link it once: the second
    # waits here, then finds the first one's link. FOR NO KEY UPDATE: rows a win already
    # inserted that refer to the account hold a key-share lock a plain FOR UPDATE would
    # wait on, deadlocking two wins
    db.session.execute(sa.select(Account.id).where(Account.id == account_id)
                       .with_for_update(key_share=True))
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} not found")
    existing = link_for_account(account_id)
    if existing is not None:
        return existing
    tax_id = (tax_id or "").strip().upper() or None
    customer, matched_by = matching_customer(account, tax_id)
    if customer is None:
        customer = fin.create_customer({"name": account.name, "billing_address": account.address,
                                        "tax_id": tax_id})
        matched_by = "created"
    link = AccountLink(account_id=account.id, customer_id=customer.id, matched_by=matched_by,
                       tax_id=tax_id)
    db.session.add(link)
    db.session.flush()
    sync_link(link)
    return link


def account_customer_id(account_id: int | None, create: bool = False) -> int | None:
    """The finance customer of an account: linked, else matched (linking it when ``create``)."""
    if account_id is None:
        return None
    link = link_for_account(account_id)
    if link is not None:
        return link.customer_id
    if create:
        return link_account(account_id).customer_id
    account = db.session.get(Account, account_id)
    customer, _ = matching_customer(account) if account else (None, None)
    return customer.id if customer else None


# --- shared-field sync ---


def _sides(link: AccountLink):
    account = db.session.get(Account, link.account_id)
    customer = finance().get_customer(link.customer_id)
    crm = {"name": account.name, "address": account.address, "tax_id": link.tax_id}
    fin = {"name": customer.name, "address": customer.billing_address, "tax_id": customer.tax_id}
    return account, customer, crm, fin


def _plan(link: AccountLink, resolve: dict[str, str] | None = None):
    """What each shared field should become, and the fields in conflict.

    Equal sides stay. A side that changed since the last sync wins over one that did not;
    changed on both sides (or different at the first sync, both filled) is a conflict
    unless ``resolve`` names the winning side (``{"name": "crm"}``).
    """
    resolve = resolve or {}
    account, customer, crm, fin = _sides(link)
    first = link.synced_at is None
    values, conflicts = {}, []
    for field, _fin_field, synced_attr in SHARED_FIELDS:
        c, f, synced = crm[field], fin[field], getattr(link, synced_attr)
        winner = resolve.get(field)
        if winner not in (None, "crm", "finance"):
            raise ValidationFailed({field: ["Choose crm or finance."]})
        if c == f:
            values[field] = c
        elif winner:
            values[field] = c if winner == "crm" else f
        elif first and not (c and f):
            values[field] = c or f
        elif not first and c != synced and f == synced:
            values[field] = c
        elif not first and f != synced and c == synced:
            values[field] = f
        else:
            conflicts.append({"field": field, "crm": c, "finance": f, "synced": synced})
    return account, customer, crm, fin, values, conflicts


def sync_status(link: AccountLink) -> list[dict]:
    """The shared fields in conflict (changed on both sides since the last sync); reads only."""
    return _plan(link)[5]


def sync_link(link: AccountLink, resolve: dict[str, str] | None = None) -> list[dict]:
    """Carry each shared field (legal name, billing address, tax id) from the side that
    changed it since the last sync; return the conflicts left untouched (see ``_plan``).
    The link is locked first: two syncs at once carry each change once."""
    lock(link)
    account, customer, crm, fin, values, conflicts = _plan(link, resolve)
    crm_updates, fin_updates = {}, {}
    for field, fin_field, synced_attr in SHARED_FIELDS:
        if field not in values:
            continue
        value = values[field]
        if value != crm[field]:
            crm_updates[field] = value
        if value != fin[field]:
            fin_updates[fin_field] = value
        setattr(link, synced_attr, value)
    if "tax_id" in crm_updates:
        link.tax_id = crm_updates.pop("tax_id")
    link.synced_at = utcnow()
    if fin_updates:
        finance().update_customer(customer, fin_updates)
    if crm_updates:  # last: on_account_changed syncs again and must find finance updated
        update_account(account, crm_updates)
    db.session.flush()
    return conflicts


def get_link(link_id: int) -> AccountLink:
    """A link by id, or NotFound."""
    link = db.session.get(AccountLink, link_id)
    if link is None:
        raise NotFound(f"link {link_id} not found")
    return link


# --- the deal timeline ---


def note_on_deal(deal_id: int, subject: str, body: str | None = None) -> Activity:
    """A note on a deal's timeline (and its account's) written by the bridge.

    Written directly rather than through ``crm.work.log_activity``, which narrows by the
    actor's record rules: an accountant posting an invoice may not see the deal.
    """
    from plugins.crm.work import add_system_note

    return add_system_note(deal_id, subject, body)
