"""Plugin boundaries (DESIGN.md section 3), enforced by reading the source.

A plugin may import ``core``, itself and the plugins named in its manifest's ``depends``.
Plugins named in ``optional`` may be imported only inside a function body (run when the
other plugin is known to be installed), never when the module loads. Every ``.py`` file
under ``plugins/<name>/`` is checked, migrations included; absolute, ``from`` and relative
imports count, and so do ``importlib.import_module("plugins.x")`` calls with a literal name.
Imports under ``if TYPE_CHECKING:`` never run and are treated like function-level ones.
The kernel (``core/``) imports no plugin at all.
"""
from __future__ import annotations

import ast
import importlib
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
CORE = ROOT / "core"


@dataclass(frozen=True)
class PluginImport:
    """One import of ``plugins.<target>`` found in a source file."""

    line: int
    target: str  # the imported plugin's name
    statement: str
    in_function: bool


@dataclass(frozen=True)
class Rules:
    """What plugin ``name`` may import (from its manifest)."""

    name: str
    depends: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


def module_name(path: Path, root: Path = ROOT) -> str:
    """``plugins/crm/services.py`` -> ``plugins.crm.services`` (``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(module: str, is_package: bool) -> list[str]:
    parts = module.split(".")
    return parts if is_package else parts[:-1]


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    package = _package_of(module, is_package)
    base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
    if node.level - 1 > len(package):
        return ""  # beyond the top-level package: Python refuses it anyway
    return ".".join(base + ([node.module] if node.module else []))


def _plugin_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "plugins" else None


class _ImportFinder(ast.NodeVisitor):
    def __init__(self, source: str, module: str, is_package: bool):
        self.source, self.module, self.is_package = source, module, is_package
        self.depth = 0  # > 0 inside a function body (or an ``if TYPE_CHECKING:`` block)
        self.found: list[PluginImport] = []

    def _add(self, node: ast.AST, dotted: str) -> None:
        target = _plugin_of(dotted)
        if target:
            statement = (ast.get_source_segment(self.source, node) or dotted).splitlines()[0]
            self.found.append(PluginImport(node.lineno, target, statement.strip(), self.depth > 0))

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self.depth += 1
            for child in node.body:
                self.visit(child)
            self.depth -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(node, self.module, self.is_package)
        if base == "plugins":  # from plugins import crm  /  from .. import crm
            for alias in node.names:
                self._add(node, f"plugins.{alias.name}")
        else:
            self._add(node, base)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in ("import_module", "__import__") and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            self._add(node, node.args[0].value)
        self.generic_visit(node)


def plugin_imports(source: str, module: str, is_package: bool = False) -> list[PluginImport]:
    """Every import of a ``plugins.<name>`` module in ``source`` (module ``module``)."""
    finder = _ImportFinder(source, module, is_package)
    finder.visit(ast.parse(source))
    return finder.found


def violations(source: str, module: str, rules: Rules, is_package: bool = False,
               filename: str = "<source>") -> list[str]:
    """``file:line: reason`` for each import ``rules`` forbid."""
    found = []
    for imp in plugin_imports(source, module, is_package):
        if imp.target in (rules.name, *rules.depends):
            continue
        if imp.target in rules.optional:
            if imp.in_function:
                continue
            reason = (f"imports optional plugin {imp.target!r} at module level "
                      f"(only allowed inside a function)")
        else:
            reason = (f"imports plugin {imp.target!r}, which is not in its depends "
                      f"{list(rules.depends)}")
        found.append(f"{filename}:{imp.line}: {rules.name} {reason}: {imp.statement}")
    return found


def rules_of(name: str) -> Rules:
    manifest = importlib.import_module(f"plugins.{name}").MANIFEST
    return Rules(name, tuple(manifest.depends), tuple(manifest.optional))


def check_tree(directory: Path, rules: Rules, root: Path = ROOT) -> list[str]:
    """Violations in every ``.py`` file under ``directory`` (a plugin's package)."""
    found = []
    for path in sorted(directory.rglob("*.py")):
        found += violations(path.read_text(encoding="utf-8"), module_name(path, root), rules,
                            is_package=path.name == "__init__.py",
                            filename=str(path.relative_to(root)))
    return found


def builtin_plugins() -> list[str]:
    return sorted(p.name for p in PLUGINS.iterdir()
                  if (p / "__init__.py").is_file() and not p.name.startswith("_"))


# --- the tests ---


def test_plugins_import_only_their_dependencies():
    names = builtin_plugins()
    assert {"crm", "erp_finance", "erp_inventory", "bridge"} <= set(names)
    found = [v for name in names for v in check_tree(PLUGINS / name, rules_of(name))]
    assert not found, "plugin boundary violations:\n" + "\n".join(found)


def test_the_kernel_imports_no_plugin():
    found = check_tree(CORE, Rules("core"))
    assert not found, "the kernel imports plugins:\n" + "\n".join(found)


CRM = Rules("crm")
BRIDGE = Rules("bridge", depends=("crm",), optional=("erp_finance", "erp_inventory"))


def _check(source: str, rules: Rules, module: str, is_package: bool = False) -> list[str]:
    return violations(textwrap.dedent(source), module, rules, is_package, filename="x.py")


def test_the_checker_catches_forbidden_imports_in_every_form():
    source = """
        import json
        from core.db import db
        from plugins.crm import services
        from . import models
        import plugins.erp_finance.services
        from plugins.erp_inventory.models import Product
        from plugins import erp_finance
        from .. import erp_inventory
        from ..erp_finance import services as finance


        def later():
            from plugins.erp_finance import services
            importlib.import_module("plugins.erp_inventory.services")
    """
    found = _check(source, CRM, "plugins.crm.records")
    assert [f.split(":")[1] for f in found] == ["6", "7", "8", "9", "10", "14", "15"]
    assert "x.py:6: crm imports plugin 'erp_finance', which is not in its depends []" in found[0]
    assert all("crm imports plugin" in f for f in found)

    # the same relative import is the plugin itself from its package __init__
    assert _check("from . import erp_finance", CRM, "plugins.crm", is_package=True) == []
    assert _check("from .. import crm, bridge", CRM, "plugins.crm.api")[0].startswith(
        "x.py:1: crm imports plugin 'bridge'")


def test_the_checker_allows_optional_plugins_only_inside_functions():
    source = """
        from typing import TYPE_CHECKING

        from plugins.crm.models import Account
        from plugins.erp_finance import services

        if TYPE_CHECKING:
            from plugins.erp_inventory.models import Product


        class Panel:
            from plugins.erp_inventory import services as inventory


        def panel():
            from plugins.erp_finance.services import get_customer
            return lambda: __import__("plugins.erp_inventory.models")
    """
    found = _check(source, BRIDGE, "plugins.bridge.hooks")
    assert len(found) == 2, found
    assert found[0].startswith("x.py:5: bridge imports optional plugin 'erp_finance' at module level")
    assert found[1].startswith("x.py:12: bridge imports optional plugin 'erp_inventory' at module level")


def test_the_checker_scans_files_of_a_plugin_tree(tmp_path):
    plugin = tmp_path / "plugins" / "crm"
    (plugin / "migrations" / "versions").mkdir(parents=True)
    (plugin / "__init__.py").write_text("")
    (plugin / "migrations" / "versions" / "crm_0002.py").write_text(
        "import sqlalchemy as sa\nfrom plugins.erp_finance.models import Customer\n")
    found = check_tree(plugin, CRM, root=tmp_path)
    assert found == ["plugins/crm/migrations/versions/crm_0002.py:2: crm imports plugin "
                     "'erp_finance', which is not in its depends []: "
                     "from plugins.erp_finance.models import Customer"]
