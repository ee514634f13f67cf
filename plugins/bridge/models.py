"""Link tables between CRM and ERP records (no foreign key into an optional plugin)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class AccountLink(db.Model):
    """A CRM account and the finance customer that is the same organisation, linked once."""

    __tablename__ = "bridge_account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_account.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(unique=True)  # finance_customer.id (optional plugin)
    matched_by: Mapped[str] = mapped_column(sa.String(20))  # link | tax id | name | created
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
