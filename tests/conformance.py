"""The plugin conformance checker (DESIGN.md sections 3-5), reusable by every plugin's tests.

    from tests.conformance import check_plugin

    def test_conformance(app):
        check_plugin(app, "crm")

``check_plugin`` asserts; ``plugin_problems`` returns every problem found as readable
lines (so one run names all of them). Checked for plugin ``name`` of ``app``:

* it is discovered and not broken;
* its manifest: name = package directory (kernel and built-in plugins), a summary, a
  dotted version, ``depends`` naming discovered plugins;
* it owns at least one blueprint; every route of its blueprints declares a permission
  for each method, and that permission is ``public``, ``logged-in`` or a registered one;
* every permission it declares starts with ``<prefix>.``;
* its API blueprints live under ``/api/v1/<prefix>``;
* its templates live under ``templates/<name>/`` (static files under ``static/<name>/``)
  and compile;
* the tables of its models start with ``Manifest.table_prefix``; a non-kernel plugin with
  tables has migrations;
* its Alembic branch (if any) has exactly one head;
* the specs of its ``hookspecs`` module are documented and typed;
* it implements only hooks declared by the kernel, itself or its ``depends``, except
  with ``optionalhook=True`` (hooks of ``optional`` plugins).
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from core import PROJECT
from core.api import API_PREFIX, ApiBlueprint
from core.db import db
from core.permissions import LOGGED_IN, PUBLIC, permission_of

VERSION = re.compile(r"^\d+(\.\d+)+([.+-]?[0-9A-Za-z]+)*$")
SPEC_MARKER = f"{PROJECT}_spec"
IMPL_MARKER = f"{PROJECT}_impl"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def check_plugin(app, name: str) -> None:
    """Assert that plugin ``name`` of ``app`` follows the plugin conventions."""
    problems = plugin_problems(app, name)
    assert not problems, f"plugin {name!r} does not conform:\n  - " + "\n  - ".join(problems)


def check_hookspecs(module: ModuleType) -> None:
    """Assert that every hook spec of ``module`` has a docstring and typed parameters."""
    problems = hookspec_problems(module)
    assert not problems, f"hookspecs of {module.__name__} do not conform:\n  - " + \
        "\n  - ".join(problems)


def plugin_problems(app, name: str) -> list[str]:
    """Every way plugin ``name`` breaks the conventions (empty when it conforms)."""
    with app.app_context():
        registry = app.extensions["tandem"]
        info = registry.plugins.get(name)
        if info is None:
            return [f"not discovered (discovered: {', '.join(registry.plugins)})"]
        if info.broken:
            return [f"broken: {info.error}"]
        problems: list[str] = []
        problems += _manifest_problems(registry, info)
        problems += _route_problems(app, registry, info)
        problems += _declared_permission_problems(registry, info)
        problems += _file_problems(app, info, "templates")
        problems += _file_problems(app, info, "static")
        problems += _table_problems(info)
        problems += _migration_problems(registry, info)
        if "hookspecs" in info.modules:
            problems += hookspec_problems(info.modules["hookspecs"])
        problems += _hookimpl_problems(registry, info)
        return problems


# --- manifest ---


def _manifest_problems(registry, info) -> list[str]:
    m, problems = info.manifest, []
    if info.source in ("kernel", "builtin"):
        directory = info.path.name if info.path else None
        if m.name != info.package.rsplit(".", 1)[-1] or m.name != directory:
            problems.append(f"manifest name {m.name!r} is not the package directory name "
                            f"{directory!r} ({info.package})")
    if not isinstance(m.summary, str) or not m.summary.strip():
        problems.append("manifest has no summary")
    if not isinstance(m.version, str) or not VERSION.match(m.version):
        problems.append(f"manifest version {m.version!r} is not a dotted version like 1.0.0")
    for dep in m.depends:
        if dep == m.name:
            problems.append("manifest depends on the plugin itself")
        elif dep not in registry.plugins:
            problems.append(f"manifest depends on {dep!r}, which is not a discovered plugin")
    overlap = set(m.depends) & set(m.optional)
    if overlap:
        problems.append(f"{sorted(overlap)} are both depends and optional")
    return problems


# --- blueprints, routes, permissions ---


def owned_blueprints(app, registry, name: str) -> dict[str, object]:
    """The blueprints (name -> blueprint) that plugin ``name`` registered."""
    return {bp: app.blueprints[bp] for bp, owner in registry.blueprint_owner.items()
            if owner == name and bp in app.blueprints}


def _owner_blueprint(endpoint: str, owned: dict) -> str | None:
    """The owned blueprint an endpoint belongs to (nested blueprints included)."""
    parts = endpoint.split(".")[:-1]
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in owned:
            return candidate
    return None


def plugin_rules(app, registry, name: str) -> list[tuple[object, object]]:
    """``(rule, blueprint)`` for every URL rule of plugin ``name`` (static files excluded)."""
    owned = owned_blueprints(app, registry, name)
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        bp = _owner_blueprint(rule.endpoint, owned)
        if bp is not None:
            found.append((rule, owned[bp]))
    return found


def _route_problems(app, registry, info) -> list[str]:
    owned = owned_blueprints(app, registry, info.name)
    if not owned:
        return ["registers no blueprint (register_blueprints)"]
    known = {PUBLIC, LOGGED_IN} | {p.name for p in registry.permissions}
    prefix = info.manifest.prefix
    api_root = f"{API_PREFIX}/{prefix}"
    problems = []
    for rule, blueprint in plugin_rules(app, registry, info.name):
        view = app.view_functions.get(rule.endpoint)
        for method in sorted(set(rule.methods or ()) - IGNORED_METHODS):
            permission = permission_of(view, method)
            where = f"{method} {rule.rule} ({rule.endpoint})"
            if permission is None:
                problems.append(f"{where} declares no permission "
                                f"(add @requires(...), @public or @login_required)")
            elif permission not in known:
                problems.append(f"{where} needs permission {permission!r}, which no plugin "
                                f"registers (register_permissions)")
        if isinstance(blueprint, ApiBlueprint):
            if rule.rule != api_root and not rule.rule.startswith(api_root + "/"):
                problems.append(f"API route {rule.rule} ({rule.endpoint}) is not under {api_root}")
    return problems


def _declared_permission_problems(registry, info) -> list[str]:
    prefix = info.manifest.prefix
    problems = []
    seen = set()
    for plugin, permissions in registry.results_by_plugin("register_permissions"):
        if plugin != info.name:
            continue
        for permission in permissions:
            if not permission.name.startswith(prefix + "."):
                problems.append(f"declared permission {permission.name!r} does not start "
                                f"with {prefix + '.'!r}")
            if permission.name in seen:
                problems.append(f"permission {permission.name!r} is declared twice")
            seen.add(permission.name)
    return problems


# --- templates and static files ---


def _file_problems(app, info, room: str) -> list[str]:
    """Files of ``templates/`` (``static/``) must sit in ``<room>/<name>/``; templates compile."""
    if info.path is None:
        return []
    root = info.path / room
    if not root.is_dir():
        return []
    problems = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if len(relative.parts) < 2 or relative.parts[0] != info.name:
            problems.append(f"{room} file {room}/{relative.as_posix()} is not under "
                            f"{room}/{info.name}/")
            continue
        if room == "templates":
            problems += _template_problems(app, path, relative.as_posix())
    return problems


def _template_problems(app, path: Path, name: str) -> list[str]:
    try:
        template = app.jinja_env.get_template(name)
    except Exception as exc:  # TemplateSyntaxError, TemplateNotFound...
        return [f"template {name} does not compile: {type(exc).__name__}: {exc}"]
    if template.filename and Path(template.filename).resolve() != path.resolve():
        return [f"template {name} is shadowed by {template.filename}"]
    return []


# --- tables and migrations ---


def _in_package(module_name: str, package: str) -> bool:
    return module_name == package or module_name.startswith(package + ".")


def plugin_tables(info) -> set[str]:
    """Names of the tables of the plugin's models (mapped classes and plain ``sa.Table``)."""
    names = set()
    for mapper in db.Model.registry.mappers:
        if _in_package(mapper.class_.__module__, info.package):
            names.update(t.name for t in mapper.tables)
    models = info.modules.get("models")
    if models is not None:
        names.update(obj.name for obj in vars(models).values() if isinstance(obj, sa.Table))
    return {n for n in names if n in db.metadata.tables}


def _table_problems(info) -> list[str]:
    prefix = info.manifest.table_prefix
    tables = plugin_tables(info)
    problems = [f"table {t!r} does not start with {prefix!r}"
                for t in sorted(tables) if not t.startswith(prefix)]
    if tables and not info.essential and info.migrations_path is None:
        problems.append(f"has tables {sorted(tables)} but no migrations/versions folder")
    return problems


def _migration_problems(registry, info) -> list[str]:
    if info.migrations_path is None:
        return []
    from alembic.script import ScriptDirectory
    from alembic.script.revision import MultipleHeads

    from core import migrate

    script = ScriptDirectory.from_config(migrate._config(registry))
    problems = []
    try:
        heads = script.revision_map.get_revisions(f"{info.name}@head")
        if len(heads) != 1:
            problems.append(f"Alembic branch {info.name!r} has {len(heads)} heads")
    except MultipleHeads as exc:
        problems.append(f"Alembic branch {info.name!r} has several heads "
                        f"({', '.join(sorted(exc.heads))}); merge them")
    except Exception as exc:  # no revision carries the branch label...
        problems.append(f"Alembic branch {info.name!r}: {type(exc).__name__}: {exc}")
    versions = info.migrations_path.resolve()
    for rev in script.walk_revisions():
        if rev.path and Path(rev.path).resolve().parent == versions \
                and info.name not in rev.branch_labels:
            problems.append(f"revision {rev.revision} ({Path(rev.path).name}) is not on the "
                            f"{info.name!r} branch (branch_labels on the first revision)")
    return problems


# --- hook specifications ---


def _spec_owners(registry) -> dict[str, str]:
    """Hook name -> the plugin that declares it (``core`` for the kernel's hooks)."""
    import core.hookspecs

    owners = {n: "core" for n, obj in vars(core.hookspecs).items()
              if getattr(obj, SPEC_MARKER, None) is not None}
    for other in registry.healthy():
        module = other.modules.get("hookspecs")
        if module is not None:
            for n, obj in vars(module).items():
                if getattr(obj, SPEC_MARKER, None) is not None:
                    owners.setdefault(n, other.name)
    return owners


def _hookimpl_problems(registry, info) -> list[str]:
    if info.hooks is None:
        return []
    owners = _spec_owners(registry)
    allowed = {"core", info.name, *info.manifest.depends}
    problems = []
    for attr, func in vars(info.hooks).items():
        opts = getattr(func, IMPL_MARKER, None) if callable(func) else None
        if opts is None:
            continue
        hook = opts.get("specname") or attr
        owner = owners.get(hook)
        if owner in allowed or opts.get("optionalhook"):
            continue
        where = f"{info.hooks.__name__}.{attr}"
        if owner is None:
            problems.append(f"{where} implements {hook!r}, which no plugin declares")
        else:
            problems.append(f"{where} implements {owner}'s hook {hook!r} but {owner} is not in "
                            f"its depends: mark it @hookimpl(optionalhook=True)")
    return problems


def hookspec_problems(module: ModuleType) -> list[str]:
    """Specs of ``module`` without a docstring or with an untyped parameter/return."""
    problems = []
    specs = [(n, obj) for n, obj in vars(module).items()
             if callable(obj) and getattr(obj, SPEC_MARKER, None) is not None]
    if not specs:
        problems.append(f"{module.__name__} declares no hook spec")
    for name, func in specs:
        where = f"{module.__name__}.{name}"
        if not (inspect.getdoc(func) or "").strip():
            problems.append(f"hook spec {where} has no docstring")
        signature = inspect.signature(func)
        for param in signature.parameters.values():
            if param.annotation is inspect.Parameter.empty:
                problems.append(f"hook spec {where}: parameter {param.name!r} has no type annotation")
        if signature.return_annotation is inspect.Signature.empty:
            problems.append(f"hook spec {where} has no return annotation")
    return problems
