"""Every discovered plugin (the kernel's own included) passes the conformance checker."""
from __future__ import annotations

import textwrap
import types
import uuid

import pytest

import core.hookspecs
from core.registry import discover
from tests.conformance import check_hookspecs, check_plugin, hookspec_problems, plugin_problems
from tests.conftest import dispose, make_app

DISCOVERED = discover()
HEALTHY = [name for name, info in DISCOVERED.items() if not info.broken]


def test_kernel_and_builtin_plugins_are_discovered_and_healthy():
    """A broken built-in plugin would silently drop out of the parametrised test below."""
    assert {"auth", "admin", "crm", "erp_finance", "erp_inventory", "bridge"} <= set(DISCOVERED)
    broken = {name: info.error for name, info in DISCOVERED.items()
              if info.broken and info.source in ("kernel", "builtin")}
    assert not broken


@pytest.mark.parametrize("name", HEALTHY)
def test_plugin_conforms(app, name):
    check_plugin(app, name)


def test_kernel_hookspecs_are_documented_and_typed():
    check_hookspecs(core.hookspecs)


# --- the checker itself catches what it should ---

BAD_PLUGIN = {
    "__init__.py": """
        from core.manifest import Manifest

        MANIFEST = Manifest(name="{name}", version="one", summary="", depends=())
    """,
    "hooks.py": """
        from flask import Blueprint

        from core import hookimpl
        from core.api import ApiBlueprint
        from core.contrib import Permission
        from core.permissions import requires

        bp = Blueprint("{name}", __name__, url_prefix="/{name}", template_folder="templates")
        blp = ApiBlueprint("elsewhere", __name__)


        @bp.route("/open")
        def undeclared():
            return "no permission declared"


        @bp.route("/ghost")
        @requires("{name}.ghost.read")
        def ghost():
            return "needs a permission nobody registers"


        @blp.route("/things")
        @requires("{name}.thing.read")
        def things():
            return "API outside /api/v1/{name}"


        @hookimpl
        def on_account_changed(event):
            pass  # CRM's hook: CRM is not a dependency and this is not optionalhook


        @hookimpl
        def register_blueprints():
            return [bp, blp]


        @hookimpl
        def register_permissions():
            return [Permission("{name}.thing.read", "fine"), Permission("crm.stolen.read", "bad")]
    """,
    "hookspecs.py": """
        from core import hookspec


        @hookspec
        def on_thing_happened(event):
            pass
    """,
    "templates/stray.html": "<p>not in templates/{name}/</p>",
    # two heads on the branch, and a revision outside it
    "migrations/versions/{name}_1.py": """
        revision = "{name}_1"
        down_revision = None
        branch_labels = ("{name}",)
        depends_on = "core_0001"
    """,
    "migrations/versions/{name}_2a.py": """
        revision = "{name}_2a"
        down_revision = "{name}_1"
    """,
    "migrations/versions/{name}_2b.py": """
        revision = "{name}_2b"
        down_revision = "{name}_1"
    """,
    "migrations/versions/{name}_x.py": """
        revision = "{name}_x"
        down_revision = None
    """,
    "templates/{name}/broken.html": "{{% if %}}",
}


def _write_plugin(root, name: str, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / name / relative.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text.format(name=name)).lstrip())


def test_the_checker_reports_every_problem_of_a_bad_plugin(kernel_db, tmp_path, monkeypatch):
    suffix = uuid.uuid4().hex[:8]
    name, broken = f"conformance_bad_{suffix}", f"conformance_broken_{suffix}"
    _write_plugin(tmp_path, name, BAD_PLUGIN)
    _write_plugin(tmp_path, broken, {"__init__.py": BAD_PLUGIN["__init__.py"].replace(
        "depends=()", 'depends=("nowhere",)')})
    monkeypatch.syspath_prepend(str(tmp_path))
    app = make_app(kernel_db, TANDEM_EXTRA_PLUGINS=[name, broken])

    assert plugin_problems(app, broken) == ["broken: depends on unknown plugin 'nowhere'"]
    assert plugin_problems(app, "no_such_plugin")[0].startswith("not discovered")
    problems = "\n".join(plugin_problems(app, name))
    expected = [
        "manifest has no summary",
        "manifest version 'one' is not a dotted version",
        f"GET /{name}/open ({name}.undeclared) declares no permission",
        f"needs permission '{name}.ghost.read', which no plugin registers",
        f"API route /api/v1/elsewhere/things (elsewhere_api.things) is not under /api/v1/{name}",
        "declared permission 'crm.stolen.read' does not start with",
        f"templates file templates/stray.html is not under templates/{name}/",
        f"template {name}/broken.html does not compile",
        f"hook spec {name}.hookspecs.on_thing_happened has no docstring",
        "parameter 'event' has no type annotation",
        "has no return annotation",
        f"Alembic branch {name!r} has several heads",
        f"revision {name}_x ({name}_x.py) is not on the {name!r} branch",
        f"{name}.hooks.on_account_changed implements crm's hook 'on_account_changed' but crm "
        "is not in its depends",
    ]
    for text in expected:
        assert text in problems, f"{text!r} not reported in:\n{problems}"
    with pytest.raises(AssertionError, match="does not conform"):
        check_plugin(app, name)
    dispose(app)


def test_the_checker_accepts_typed_documented_specs():
    module = types.ModuleType("ok_specs")
    exec(textwrap.dedent('''
        from core import hookspec

        @hookspec
        def on_ok(event: int) -> None:
            """Documented."""
    '''), module.__dict__)
    assert hookspec_problems(module) == []
