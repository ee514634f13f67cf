"""Schema migrations: one Alembic branch per plugin, plus ``core`` for the kernel.

Each plugin keeps plain Alembic revision files in ``<plugin>/migrations/versions``;
its first revision carries ``branch_labels = ("<plugin>",)`` and
``depends_on = "core_0001"``. Installing a plugin upgrades its branch to head;
purging it downgrades the branch to base (dropping its tables).
Migrations run on the session's connection, so an install is one transaction.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.db import db

CORE_MIGRATIONS = Path(__file__).parent / "migrations"
CORE_BRANCH = "core"


# Alembic is imported inside the functions: a worker that never migrates never loads it.


def dependency_heads(script, branches: list[str]) -> list[str]:
    """The head revisions of ``branches`` a new revision depends on, leaving out any head
    another one already depends on (Alembic refuses a ``depends_on`` listing both)."""
    heads = {r.revision for b in branches for r in script.revision_map.get_revisions(f"{b}@head")}
    implied = {a.revision for h in heads for a in script.revision_map.iterate_revisions(h, "base")
               if a.revision != h}
    return sorted(heads - implied)


def _config(registry, connection=None, table_prefix: str | None = None, only: set[str] | None = None):
    """Alembic's configuration: the kernel's revisions and every healthy plugin's (or only
    those of the plugins named in ``only``)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    locations = [str(CORE_MIGRATIONS / "versions")]
    locations += [str(p.migrations_path) for p in registry.healthy()
                  if p.migrations_path and (only is None or p.name in only)]
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["connection"] = connection
    cfg.attributes["table_prefix"] = table_prefix
    return cfg


def branch_of(info) -> str:
    """The Alembic branch a plugin's tables live in (essential plugins share ``core``)."""
    return CORE_BRANCH if info.essential or info.migrations_path is None else info.name


def has_branch(info) -> bool:
    return info.migrations_path is not None


def upgrade(registry, branch: str) -> None:
    """Migrate one branch to its head, inside the current transaction."""
    from alembic import command

    command.upgrade(_config(registry, db.session.connection()), f"{branch}@head")


def downgrade_to_base(registry, branch: str) -> None:
    """Drop a branch's tables by migrating it down to base, inside the current transaction."""
    from alembic import command

    command.downgrade(_config(registry, db.session.connection()), f"{branch}@base")


def _script(registry):
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(registry))


def current_heads(registry) -> set[str]:
    """Revisions recorded in ``alembic_version`` (a branch's head may be implied instead)."""
    from alembic.runtime.migration import MigrationContext

    ctx = MigrationContext.configure(db.session.connection())
    return set(ctx.get_current_heads())


def applied_revisions(registry) -> set[str]:
    """Every revision the database has, heads and everything below them (dependencies too)."""
    script = _script(registry)
    applied: set[str] = set()
    for head in current_heads(registry):
        applied |= {rev.revision for rev in script.revision_map.iterate_revisions(head, "base")}
    return applied


def branch_heads(registry, branch: str) -> set[str]:
    """Revisions that are heads of ``branch`` in the code."""
    script = _script(registry)
    return {rev.revision for rev in script.revision_map.get_revisions(f"{branch}@heads")}


def is_at_head(registry, branch: str) -> bool:
    return branch_heads(registry, branch) <= applied_revisions(registry)


def is_present(registry, info) -> bool:
    """Whether the database holds any of the plugin's own revisions (its tables exist)."""
    script = _script(registry)
    own = {rev.revision for rev in script.walk_revisions()
           if Path(rev.path).parent == info.migrations_path}
    return bool(own & applied_revisions(registry))


def revision(registry, info, message: str) -> str:
    """Autogenerate a revision file for a plugin's branch from its models (``tandem db revision``).

    The first revision of a plugin starts its branch, labelled with the plugin's name.
    """
    essential = info.essential
    branch = CORE_BRANCH if essential else info.name
    versions = CORE_MIGRATIONS / "versions" if essential else info.path / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    prefix = "core_" if essential else info.manifest.table_prefix
    # only installed plugins' branches: one merely discovered is not "behind"
    cfg = _config(registry, db.session.connection(), table_prefix=prefix,
                  only=set(registry.installed) | {info.name})
    # Every revision depends on the current heads of the kernel and the plugin's
    # dependencies: its tables may refer to theirs, so purging one of those must first
    # take this plugin's tables down (PostgreSQL refuses to drop a referenced table).
    needed = [CORE_BRANCH] + [d for d in info.manifest.depends if registry.get(d).migrations_path is not None]
    script = _script(registry)
    heads = dependency_heads(script, needed)
    if any(versions.glob("*.py")):
        kwargs = {"head": f"{branch}@head", "depends_on": None if essential else heads}
    else:
        kwargs = {"head": "base", "branch_label": branch, "depends_on": None if essential else heads}
    number = len(list(versions.glob("*.py"))) + 1
    from alembic import command

    script = command.revision(cfg, message=message, autogenerate=True, version_path=str(versions),
                              rev_id=f"{branch}_{number:04d}", **kwargs)
    return script.path
