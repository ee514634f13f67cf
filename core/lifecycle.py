"""Installing and uninstalling modules (Odoo-style), from the Apps page or the CLI.

Install resolves ``depends`` and installs what is missing first, migrates each plugin's
Alembic branch to head, records the state in ``core_module``, offers the plugin's
default roles, calls ``on_module_installed`` and finally installs the ``auto_install``
plugins whose trigger set is now complete (the bridge). Uninstall refuses while an
installed plugin depends on the module, keeps the tables unless ``purge`` is asked
for, and reinstalling finds the data again. Each change bumps the registry
generation, which every worker compares at the start of each request.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from core import migrate
from core.auth.services import ensure_role
from core.contrib import ModuleInstalled, ModuleUninstalled
from core.db import db
from core.errors import NotFound, RuleViolation
from core.models import Module, RegistryGeneration
from core.registry import Registry, current_registry


@dataclass(frozen=True)
class ModuleStatus:
    """One line of the Apps page and of ``tandem modules list``."""

    name: str
    version: str
    summary: str
    depends: tuple[str, ...]
    optional: tuple[str, ...]
    state: str  # installed | to upgrade | not installed | uninstalled (data kept) | broken
    source: str
    category: str
    essential: bool
    error: str | None
    db_version: str | None
    dependents: tuple[str, ...]


def _registry() -> Registry:
    registry = current_registry()
    registry.sync(db.session)
    return registry


def _bump_generation(registry: Registry) -> None:
    updated = db.session.execute(sa.update(RegistryGeneration).where(RegistryGeneration.id == 1)
                                 .values(generation=RegistryGeneration.generation + 1)).rowcount
    if not updated:
        db.session.add(RegistryGeneration(id=1, generation=1))
    db.session.flush()
    registry.sync(db.session)


def _known(registry: Registry, name: str):
    if name not in registry.plugins:
        raise NotFound(f"no module named {name!r}")
    info = registry.plugins[name]
    if info.broken:
        raise RuleViolation(f"module {name!r} is broken: {info.error}", code="module_broken")
    return info


def _install_plan(registry: Registry, name: str) -> list[str]:
    """``name`` and its missing dependencies, dependencies first."""
    plan: list[str] = []

    def add(n: str) -> None:
        info = _known(registry, n)
        for dep in info.manifest.depends:
            add(dep)
        if n not in plan and not registry.is_installed(n):
            plan.append(n)

    add(name)
    return plan


def _install_one(registry: Registry, name: str) -> None:
    info = registry.plugins[name]
    if migrate.has_branch(info):
        migrate.upgrade(registry, info.name)
    row = db.session.get(Module, name)
    first_time = row is None
    if row is None:
        row = Module(name=name, state="installed", version=info.manifest.version)
        db.session.add(row)
    row.state, row.version = "installed", info.manifest.version
    _bump_generation(registry)
    for plugin, roles in registry.results_by_plugin("register_roles", installed_only=True):
        if plugin == name:
            for role in roles:
                ensure_role(role.name, role.description, role.permissions)
    registry.hook.on_module_installed(event=ModuleInstalled(name=name, first_time=first_time))


def install(name: str) -> list[str]:
    """Install a module, its missing dependencies first; returns what was installed, in order.

    Runs in the current transaction (the caller commits). Installing an installed module
    does nothing and returns an empty list.
    """
    registry = _registry()
    done: list[str] = []
    for n in _install_plan(registry, name):
        _install_one(registry, n)
        done.append(n)
    for candidate in _auto_install_candidates(registry, set(done)):
        done += install(candidate)
    return done


def _auto_install_candidates(registry: Registry, just_installed: set[str]) -> list[str]:
    found = []
    for info in registry.healthy():
        if registry.is_installed(info.name) or not just_installed:
            continue
        for trigger in info.manifest.auto_install_sets:
            if trigger <= registry.installed and trigger & just_installed:
                found.append(info.name)
                break
    return found


def installed_dependents(registry: Registry, name: str) -> list[str]:
    return [p.name for p in registry.installed_in_order() if name in p.manifest.depends]


def uninstall(name: str, purge: bool = False) -> None:
    """Uninstall a module; with ``purge`` drop its tables (its data is gone for good).

    Refused for kernel modules and while installed modules depend on it.
    """
    registry = _registry()
    info = registry.plugins.get(name)
    if info is None:
        raise NotFound(f"no module named {name!r}")
    if info.essential:
        raise RuleViolation(f"{name} is part of the kernel and cannot be uninstalled",
                            code="module_essential")
    if not registry.is_installed(name) and not purge:
        raise RuleViolation(f"{name} is not installed", code="module_not_installed")
    dependents = installed_dependents(registry, name)
    if dependents:
        raise RuleViolation(f"cannot uninstall {name}: installed modules depend on it: "
                            f"{', '.join(dependents)}; uninstall them first",
                            code="module_has_dependents", details={"dependents": dependents})
    row = db.session.get(Module, name)
    if row is not None:
        row.state = "uninstalled"
    _bump_generation(registry)
    if purge:
        _purge(registry, info)
    registry.hook.on_module_uninstalled(event=ModuleUninstalled(name=name, purged=purge))


def _purge(registry: Registry, info) -> None:
    if migrate.has_branch(info):
        migrate.downgrade_to_base(registry, info.name)
    # Downgrading a branch also takes down the branches that depend on it: a module whose
    # tables are gone is forgotten, so installing it again starts afresh.
    for other in registry.healthy():
        if migrate.has_branch(other) and not registry.is_installed(other.name) \
                and not migrate.is_present(registry, other):
            db.session.execute(sa.delete(Module).where(Module.name == other.name))
    db.session.execute(sa.delete(Module).where(Module.name == info.name))
    _bump_generation(registry)


def upgrade_all() -> list[str]:
    """Migrate every installed module (and the kernel) to head; returns what changed."""
    registry = _registry()
    changed = []
    migrate.upgrade(registry, migrate.CORE_BRANCH)
    for info in registry.installed_in_order():
        row = db.session.get(Module, info.name)
        if migrate.has_branch(info) and not migrate.is_at_head(registry, info.name):
            migrate.upgrade(registry, info.name)
            changed.append(info.name)
        if row is not None and row.version != info.manifest.version:
            row.version = info.manifest.version
            if info.name not in changed:
                changed.append(info.name)
    _bump_generation(registry)
    return changed


def statuses() -> list[ModuleStatus]:
    """Every discovered module with its state, for the Apps page and the CLI."""
    registry = _registry()
    rows = {m.name: m for m in db.session.scalars(sa.select(Module))} if _has_schema() else {}
    applied = migrate.applied_revisions(registry) if rows else set()
    result = []
    for info in registry.plugins.values():
        m, row = info.manifest, rows.get(info.name)
        if info.broken:
            state = "broken"
        elif registry.is_installed(info.name):
            behind = migrate.has_branch(info) and not migrate.branch_heads(registry, info.name) <= applied
            state = "to upgrade" if behind or (row and row.version != m.version) else "installed"
        elif row is not None:
            state = "uninstalled (data kept)"
        else:
            state = "not installed"
        result.append(ModuleStatus(
            name=info.name, version=m.version if m else "?", summary=m.summary if m else "",
            depends=m.depends if m else (), optional=m.optional if m else (), state=state,
            source=info.source, category=m.category if m else "Other", essential=info.essential, error=info.error,
            db_version=row.version if row else None,
            dependents=tuple(installed_dependents(registry, info.name)) if m else ()))
    return result


def _has_schema() -> bool:
    return sa.inspect(db.session.connection()).has_table("core_module")


def initialize() -> bool:
    """Create the kernel's tables and registry row if missing; True when it created them."""
    registry = current_registry()
    created = not _has_schema()
    migrate.upgrade(registry, migrate.CORE_BRANCH)
    for info in registry.healthy():
        if info.essential and db.session.get(Module, info.name) is None:
            db.session.add(Module(name=info.name, state="installed", version=info.manifest.version))
    if db.session.get(RegistryGeneration, 1) is None:
        db.session.add(RegistryGeneration(id=1, generation=0))
    _bump_generation(registry)
    return created
