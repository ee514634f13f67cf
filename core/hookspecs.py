"""The kernel's hooks.

The kernel never names a business concept: business events (``on_deal_won``...) and
queries (``product_availability``...) are declared by the plugin that emits them, in its
own ``hookspecs.py``. What is declared here is how a plugin plugs into the kernel.

Calling conventions, true of every hook:

* Hooks are called with keyword arguments only.
* Only *installed* plugins are called: a discovered but uninstalled plugin's
  implementations are skipped (see ``core.registry.HookRelay``).
* Implementations are called in dependency order: a plugin after the plugins it
  depends on.
* Unless a spec says otherwise, the result is the list of the non-``None`` results of
  all implementations, in that order.
"""
from __future__ import annotations

from typing import Any, Callable

import click
from flask import Blueprint

from core import hookspec
from core.contrib import (MenuItem, ModuleInstalled, ModuleUninstalled, Panel, Permission,
                          Role, ScheduledJob, SearchResult, Widget)

# --- registration: called at start-up (for every discovered plugin) or at install ---


@hookspec
def register_blueprints() -> list[Blueprint]:
    """Return the Flask blueprints (pages) and flask-smorest blueprints (API) of the plugin.

    Called once per discovered plugin inside ``create_app()``, before the first request,
    outside any transaction. Every blueprint is registered even when the plugin is not
    installed; the kernel answers 404 for the routes of plugins that are not installed.
    API blueprints must be made with ``core.api.ApiBlueprint`` (URL ``/api/v1/<plugin>``).
    Every view function declares its permission with ``core.auth.requires``.
    """


@hookspec
def register_permissions() -> list[Permission]:
    """Return the permissions the plugin checks, each named ``<plugin>.<record>.<verb>``.

    Called at start-up. Roles bundle permissions; the admin role holds them all.
    """


@hookspec
def register_roles() -> list[Role]:
    """Return default roles (``Sales rep``, ``Accountant``) the plugin proposes.

    Called when the plugin is installed, inside the install transaction. A role that
    already exists gets the listed permissions added; nothing is ever removed from it.
    """


@hookspec
def register_menu() -> list[MenuItem]:
    """Return the plugin's entries of the main navigation.

    Called at start-up; entries of uninstalled plugins, or whose permission the user
    lacks, are not shown.
    """


@hookspec
def register_cli_commands() -> list[click.Command]:
    """Return click commands (or groups) added under ``tandem``.

    Called at start-up for every discovered plugin. A command that needs the plugin to be
    installed checks it with ``core.registry.require_installed``.
    """


@hookspec
def register_dashboard_widgets() -> list[Widget]:
    """Return widgets for the home dashboard.

    Called on each home page view (installed plugins only); a widget is shown when the
    user holds its ``permission``. ``Widget.context()`` runs inside the request.
    """


@hookspec
def register_scheduled_jobs() -> list[ScheduledJob]:
    """Return the periodic jobs of the plugin (billing schedules, automation rules...).

    Called by ``tandem worker`` at each pass, for installed plugins only. A job is run
    when ``every_seconds`` have passed since its last run in that worker, each run in
    its own transaction, committed when it returns and rolled back if it raises.
    """


@hookspec
def load_demo_data(progress: Callable[[int], None]) -> None:
    """Fill the plugin's tables with plausible demo records.

    Called by ``tandem demo`` and ``tandem run --demo`` once per installed plugin, in
    dependency order, inside one transaction per plugin that the kernel commits.
    Call ``progress(n)`` after each ``n`` records so the CLI can draw a progress bar.
    """


# --- events of the kernel: called inside the transaction of the install/uninstall ---


@hookspec
def on_module_installed(event: ModuleInstalled) -> None:
    """A plugin was just installed; its tables exist and it counts as installed.

    Called inside the install transaction, for every installed plugin including the new
    one. A plugin creates its defaults here (the default pipeline, the chart of accounts)
    when ``event.name`` is its own name and ``event.first_time`` is true.
    Raising aborts the install.
    """


@hookspec
def on_module_uninstalled(event: ModuleUninstalled) -> None:
    """A plugin was just uninstalled; called for the remaining installed plugins.

    Called inside the uninstall transaction. The uninstalled plugin itself is not called.
    """


# --- queries ---


@hookspec
def panels(slot: str, obj: Any) -> list[Panel]:
    """Return panels to show in ``slot`` of another plugin's page.

    ``slot`` names the page (``crm.account``, ``crm.deal``...), ``obj`` is the record the
    page shows. Called while the page renders, inside the request's transaction; must
    only read. Return ``None`` (or nothing) for slots the plugin does not fill. Results
    are flattened into one list, sorted by ``Panel.order``.
    """


@hookspec
def search(query: str, limit: int) -> list[SearchResult]:
    """Return up to ``limit`` records matching ``query`` that the current user may read.

    Called by the global search box, inside the request; each plugin returns a list of
    ``SearchResult`` and the kernel concatenates them.
    """
