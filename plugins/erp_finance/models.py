"""Finance records."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Money, Timestamped, db


class Customer(Timestamped, db.Model):
    """Someone the business invoices; owns the financial terms (credit limit, payment terms)."""

    __tablename__ = "finance_customer"
    __table_args__ = (sa.CheckConstraint("credit_limit >= 0", name="credit_limit_positive"),
                      sa.CheckConstraint("payment_terms_days >= 0", name="terms_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    tax_id: Mapped[str | None] = mapped_column(sa.String(50), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(255))
    billing_address: Mapped[str | None] = mapped_column(sa.Text)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
