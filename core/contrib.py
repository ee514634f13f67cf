"""What a plugin hands the kernel through the registration hooks.

Small frozen dataclasses: the kernel stores them, filters them by the installed
plugins and the current user's permissions, and renders them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Permission:
    """A right a plugin checks, named ``<plugin>.<record>.<verb>`` (``crm.deal.write``)."""

    name: str
    description: str

    @property
    def plugin(self) -> str:
        """The prefix of the plugin that declares it (``Manifest.prefix``)."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class Role:
    """A default role a plugin offers at install (``Sales rep``); admins may edit it later."""

    name: str
    description: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class MenuItem:
    """An entry of the main navigation, shown when the user holds ``permission``."""

    label: str
    endpoint: str
    permission: str
    order: int = 100
    icon: str = ""


@dataclass(frozen=True)
class Widget:
    """A home dashboard widget: ``template`` rendered with ``context()``."""

    name: str
    title: str
    template: str
    permission: str
    context: Callable[[], dict[str, Any]] = field(default=lambda: {})
    order: int = 100
    wide: bool = False


@dataclass(frozen=True)
class Panel:
    """A box a plugin adds to another plugin's page (see the ``panels`` hook)."""

    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class SearchResult:
    """One hit of the global search."""

    kind: str
    label: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class ScheduledJob:
    """Work ``tandem worker`` runs every ``every_seconds`` (billing runs, automation rules).

    ``run()`` is called inside a transaction the worker commits; it returns a short
    summary for the log, or None.
    """

    name: str
    every_seconds: int
    run: Callable[[], str | None]


@dataclass(frozen=True)
class ModuleInstalled:
    """Event: a plugin was installed (or reinstalled); ``first_time`` when it had no data."""

    name: str
    first_time: bool


@dataclass(frozen=True)
class ModuleUninstalled:
    """Event: a plugin was uninstalled; ``purged`` when its tables were dropped."""

    name: str
    purged: bool
