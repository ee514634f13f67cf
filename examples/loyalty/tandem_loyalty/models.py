"""Loyalty records: one row per points movement, never changed once written."""
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Money, db, utcnow

EARNED, TAKEN_BACK = "earned", "taken back"


class PointsEntry(db.Model):
    """Points an account earned for a paid invoice, or lost to a credit note on it.

    ``key`` is unique (``invoice:<id>``, ``credit_note:<id>``): the same document never
    moves points twice. A movement counts only once its invoice has earned points
    (see ``services.counted``): a credit note on an invoice that is never paid takes
    nothing back.
    """

    __tablename__ = "loyalty_points_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_account.id"), index=True)
    customer_id: Mapped[int] = mapped_column()  # the finance customer (through the bridge's link)
    invoice_id: Mapped[int] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(sa.String(12))  # earned | taken back
    document: Mapped[str] = mapped_column(sa.String(40))  # INV/2026/00007, RINV/2026/00002
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    points: Mapped[int] = mapped_column()  # negative when taken back
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
