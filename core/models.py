"""The kernel's own tables: module state, the registry generation, and the event log."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class Module(db.Model):
    """Install state of one plugin. No row means "never installed"."""

    __tablename__ = "core_module"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16))  # installed | uninstalled
    version: Mapped[str] = mapped_column(sa.String(32))
    demo_loaded: Mapped[bool] = mapped_column(default=False)
    installed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RegistryGeneration(db.Model):
    """One row; its number grows at every install or uninstall so every worker notices."""

    __tablename__ = "core_registry"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(default=0)


class Event(db.Model):
    """Every business event emitted, once per idempotency key."""

    __tablename__ = "core_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    payload: Mapped[dict] = mapped_column(sa.JSON)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
