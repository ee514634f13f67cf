"""Bridge operations: linking CRM accounts to finance customers."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound, RuleViolation
from core.registry import current_registry
from plugins.bridge.models import AccountLink
from plugins.crm.models import Account


def link_for_account(account_id: int) -> AccountLink | None:
    """The link of a CRM account, if it has one."""
    return db.session.scalar(sa.select(AccountLink).where(AccountLink.account_id == account_id))


def link_account(account_id: int) -> AccountLink:
    """Link a CRM account to its finance customer, creating the customer if none matches.

    Matched by existing link, then by normalised name; never duplicated (the link
    table is unique on both sides). Needs the finance module.
    """
    if not current_registry().is_installed("erp_finance"):
        raise RuleViolation("the finance module is not installed", code="finance_not_installed")
    from plugins.erp_finance import services as finance

    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} not found")
    existing = link_for_account(account_id)
    if existing is not None:
        return existing
    customer, matched_by = finance.find_customer(name=account.name), "name"
    if customer is not None and db.session.scalar(
            sa.select(AccountLink.id).where(AccountLink.customer_id == customer.id)):
        customer = None  # that customer is already another account's
    if customer is None:
        customer = finance.create_customer({"name": account.name, "billing_address": account.address})
        matched_by = "created"
    link = AccountLink(account_id=account.id, customer_id=customer.id, matched_by=matched_by)
    db.session.add(link)
    db.session.flush()
    return link
