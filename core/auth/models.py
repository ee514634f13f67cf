"""Users, roles and API tokens (core branch of the migrations)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Timestamped, db, utcnow

user_role = sa.Table(
    "core_user_role",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Timestamped, db.Model):
    """A named bundle of permissions (``*`` grants all, ``crm.*`` all of a plugin)."""

    __tablename__ = "core_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.String(255), default="")
    permissions: Mapped[list] = mapped_column(sa.JSON, default=list)

    def grants(self, permission: str) -> bool:
        for held in self.permissions:
            if held == "*" or held == permission:
                return True
            if held.endswith(".*") and permission.startswith(held[:-1]):
                return True
        return False


class User(UserMixin, Timestamped, db.Model):
    """A person who logs in; what they may do comes from their roles."""

    __tablename__ = "core_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[dt.datetime | None]
    roles: Mapped[list[Role]] = relationship(secondary=user_role)  # loaded when a check needs them

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def can(self, permission: str) -> bool:
        """Whether one of the user's roles grants ``permission``."""
        return any(role.grants(permission) for role in self.roles)

    @property
    def is_admin(self) -> bool:
        return self.can("*")


class ApiToken(db.Model):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "core_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class LoginAttempt(db.Model):
    """One login try, kept to slow down password guessing."""

    __tablename__ = "core_login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    success: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
