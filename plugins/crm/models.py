"""CRM records."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth.models import User
from core.db import Timestamped, db

INDUSTRIES = ("Manufacturing", "Retail", "Wholesale", "Services", "Technology", "Healthcare",
              "Construction", "Hospitality", "Other")
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")


class Account(Timestamped, db.Model):
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
    owner: Mapped[User | None] = relationship(lazy="joined")

    @property
    def owner_name(self) -> str | None:
        return self.owner.name if self.owner else None
