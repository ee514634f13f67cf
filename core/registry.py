"""Plugin discovery, dependency resolution and the per-app plugin registry.

Discovery finds plugins in three places: the kernel's own essential plugins
(``core.auth``, ``core.admin``), the built-in ``plugins/`` package, and the entry point
group ``tandem.plugins`` (third-party packages installed with pip). A plugin that fails
to import, names an unknown dependency or sits in a dependency cycle is kept in the
registry as *broken*, with the reason, and everything else still starts.

Which discovered plugins are *installed* is database state (``core_module``); every
request first compares the registry's generation number with the database's so that
an install done by another worker is seen at once.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pluggy
import sqlalchemy as sa
from flask import current_app
from werkzeug.local import LocalProxy

from core import PROJECT, hookspecs
from core.manifest import Manifest

KERNEL_PLUGINS = ("core.auth", "core.admin")
ENTRY_POINT_GROUP = "tandem.plugins"
PLUGIN_ROOMS = ("hookspecs", "models", "hooks")


@dataclass
class PluginInfo:
    """A discovered plugin: its manifest, where it came from, and why it is broken if it is."""

    name: str
    package: str
    source: str  # "kernel", "builtin" or "entry point"
    manifest: Manifest | None = None
    error: str | None = None
    modules: dict[str, ModuleType] = field(default_factory=dict)

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def essential(self) -> bool:
        return bool(self.manifest and self.manifest.essential)

    @property
    def path(self) -> Path | None:
        mod = sys.modules.get(self.package)
        return Path(mod.__file__).parent if mod and mod.__file__ else None

    @property
    def migrations_path(self) -> Path | None:
        """The plugin's Alembic versions folder (its own branch), if it has tables."""
        if self.path is None:
            return None
        versions = self.path / "migrations" / "versions"
        return versions if versions.is_dir() else None

    @property
    def hooks(self) -> ModuleType | None:
        return self.modules.get("hooks")


def _error_text(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _candidates(extra: list[str]) -> list[tuple[str, str, str]]:
    """(name, package, source) of every plugin that could be loaded, kernel first."""
    found = [(pkg.rsplit(".", 1)[-1], pkg, "kernel") for pkg in KERNEL_PLUGINS]
    import plugins

    for mod in sorted(pkgutil.iter_modules(plugins.__path__), key=lambda m: m.name):
        if mod.ispkg and not mod.name.startswith("_"):
            found.append((mod.name, f"plugins.{mod.name}", "builtin"))
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.append((ep.name, ep.value.split(":", 1)[0], "entry point"))
    for pkg in extra:
        found.append((pkg.rsplit(".", 1)[-1], pkg, "extra"))
    return found


def _load_manifest(info: PluginInfo) -> None:
    try:
        module = importlib.import_module(info.package)
        manifest = getattr(module, "MANIFEST", None)
        if not isinstance(manifest, Manifest):
            raise TypeError(f"{info.package} has no MANIFEST = core.manifest.Manifest(...)")
        if manifest.name != info.name:
            raise ValueError(f"manifest name {manifest.name!r} does not match {info.name!r}")
        info.manifest = manifest
    except Exception as exc:  # a third-party plugin may fail in any way
        info.error = _error_text(exc)


def _order(plugins: dict[str, PluginInfo]) -> list[str]:
    """Dependency order (dependencies first). Marks unknown deps and cycles as broken."""
    for info in plugins.values():
        if info.broken:
            continue
        for dep in info.manifest.depends:
            if dep not in plugins:
                info.error = f"depends on unknown plugin {dep!r}"
                break

    order: list[str] = []
    state: dict[str, str] = {}

    def edges(name: str) -> list[str]:
        m = plugins[name].manifest
        if m is None:
            return []
        return [d for d in (*m.depends, *m.optional) if d in plugins]

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):] + [name]
            message = "dependency cycle: " + " -> ".join(cycle)
            for member in cycle:
                if plugins[member].error is None:
                    plugins[member].error = message
            return
        state[name] = "visiting"
        for dep in edges(name):
            visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in plugins:
        visit(name, [])
    return order


def _propagate_broken(plugins: dict[str, PluginInfo], order: list[str]) -> None:
    for name in order:
        info = plugins[name]
        if info.broken:
            continue
        for dep in info.manifest.depends:
            if plugins[dep].broken:
                info.error = f"depends on broken plugin {dep!r}"
                break


def discover(extra: list[str] | None = None, exclude: list[str] | None = None) -> dict[str, PluginInfo]:
    """Find every plugin and import its rooms; returns them in dependency order.

    Broken plugins are included, with ``error`` set; their dependents are broken too.
    ``exclude`` names plugins not to load at all (a third-party plugin that misbehaves).
    """
    plugins: dict[str, PluginInfo] = {}
    for name, package, source in _candidates(extra or []):
        if name in plugins or (name in (exclude or ()) and source != "kernel"):
            continue  # first one wins: kernel, then built-in, then entry points
        info = PluginInfo(name=name, package=package, source=source)
        _load_manifest(info)
        plugins[name] = info
    order = _order(plugins)
    _propagate_broken(plugins, order)
    for name in order:
        info = plugins[name]
        if info.broken:
            continue
        for room in PLUGIN_ROOMS:
            try:
                info.modules[room] = importlib.import_module(f"{info.package}.{room}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{info.package}.{room}":
                    info.error = _error_text(exc)
                    break
            except Exception as exc:
                info.error = _error_text(exc)
                break
        _propagate_broken(plugins, order)
    return {name: plugins[name] for name in order}


def build_plugin_manager(plugins: dict[str, PluginInfo]) -> pluggy.PluginManager:
    """A fresh PluginManager with the kernel's and every healthy plugin's specs and hooks.

    Plugins are registered dependents-first because pluggy calls the most recently
    registered implementation first: dependencies are then called before dependents.
    ``check_pending`` makes a misspelt hook implementation fail here, loudly.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    healthy = [info for info in plugins.values() if not info.broken]
    for info in healthy:
        if "hookspecs" in info.modules:
            pm.add_hookspecs(info.modules["hookspecs"])
    for info in reversed(healthy):
        if info.hooks is not None:
            pm.register(info.hooks, name=info.name)
    pm.check_pending()
    return pm


class HookRelay:
    """``relay.<hook>(**kwargs)`` calls the hook on the installed plugins only."""

    def __init__(self, pm: pluggy.PluginManager, excluded: list[object]):
        self._pm = pm
        self._excluded = excluded
        self._callers: dict[str, object] = {}

    def __getattr__(self, name: str):
        caller = self._callers.get(name)
        if caller is None:
            caller = self._pm.subset_hook_caller(name, self._excluded)
            self._callers[name] = caller
        return caller


@dataclass(frozen=True)
class _State:
    generation: int
    installed: frozenset[str]
    hook: HookRelay


class Registry:
    """The plugins of one app and which of them are installed (kept in ``app.extensions``)."""

    def __init__(self, plugins: dict[str, PluginInfo], pm: pluggy.PluginManager):
        self.plugins = plugins
        self.pm = pm
        self.blueprint_owner: dict[str, str] = {}
        self.permissions: list = []  # filled by create_app from register_permissions
        self.menu: list = []  # (plugin, MenuItem) from register_menu
        self._lock = threading.Lock()
        self._state = self._make_state(-1, self.essential_names())

    # --- what is there ---

    def essential_names(self) -> frozenset[str]:
        return frozenset(n for n, p in self.plugins.items() if p.essential and not p.broken)

    def healthy(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if not p.broken]

    def get(self, name: str) -> PluginInfo:
        try:
            return self.plugins[name]
        except KeyError:
            raise KeyError(f"unknown plugin {name!r}") from None

    def results_by_plugin(self, hook_name: str, installed_only: bool = False,
                          **kwargs) -> list[tuple[str, object]]:
        """Call each plugin's implementation of a hook, in dependency order.

        Returns ``(plugin name, result)`` pairs for non-``None`` results. Used where the
        kernel must know which plugin contributed what (blueprints, demo data).
        ``installed_only=False`` includes every healthy plugin (start-up registration).
        """
        order = list(self.plugins)
        impls = sorted(getattr(self.pm.hook, hook_name).get_hookimpls(),
                       key=lambda impl: order.index(impl.plugin_name))
        results = []
        for impl in impls:
            if installed_only and impl.plugin_name not in self.installed:
                continue
            result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    # --- what is installed ---

    @property
    def installed(self) -> frozenset[str]:
        return self._state.installed

    @property
    def generation(self) -> int:
        return self._state.generation

    @property
    def hook(self) -> HookRelay:
        return self._state.hook

    def is_installed(self, name: str) -> bool:
        return name in self._state.installed

    @property
    def installed_prefixes(self) -> frozenset[str]:
        """Prefixes (``Manifest.prefix``) of the installed plugins: ``crm``, ``finance``..."""
        return frozenset(self.plugins[n].manifest.prefix for n in self._state.installed)

    def installed_in_order(self) -> list[PluginInfo]:
        return [p for n, p in self.plugins.items() if n in self._state.installed]

    def _make_state(self, generation: int, installed: frozenset[str]) -> _State:
        excluded = [self.pm.get_plugin(n) for n in self.plugins
                    if n not in installed and self.pm.get_plugin(n) is not None]
        return _State(generation, installed, HookRelay(self.pm, excluded))

    def sync(self, session) -> None:
        """Refresh the installed set if another process changed it (one cheap query)."""
        try:
            generation = session.execute(
                sa.text("SELECT generation FROM core_registry WHERE id = 1")).scalar()
        except sa.exc.DBAPIError:
            session.rollback()  # no schema yet: only the kernel is there
            return
        if generation is None or generation == self._state.generation:
            return
        rows = session.execute(
            sa.text("SELECT name FROM core_module WHERE state = 'installed'")).scalars()
        installed = frozenset(n for n in rows if n in self.plugins
                              and not self.plugins[n].broken) | self.essential_names()
        with self._lock:
            self._state = self._make_state(generation, installed)


def current_registry() -> Registry:
    """The registry of the current Flask app."""
    return current_app.extensions["tandem"]


#: ``from core.registry import hook; hook.panels(slot=..., obj=...)``
hook = LocalProxy(lambda: current_registry().hook)


def require_installed(name: str) -> None:
    """Stop a CLI command with a clear message when plugin ``name`` is not installed."""
    import click

    from core.db import db

    registry = current_registry()
    registry.sync(db.session)
    if not registry.is_installed(name):
        raise click.ClickException(
            f"the {name!r} module is not installed (run: tandem modules install {name})")
