"""The suite boots and behaves for every valid combination of the shipped plugins.

Combinations: every subset of {crm, erp_finance, erp_inventory}, and each one holding crm
once more with the bridge (12 in all), plus two with the third-party example plugin
``loyalty`` (examples/loyalty, installed with pip: it is discovered by every app here and
installed in none of the 12). Each is installed on a fresh kernel database by one app; a
*second* app on the same database then answers every request, so what is installed
comes from the database, not from the memory of the app that installed it.

For each plugin: installed, its menu entries show on the home page, its list pages and
API list endpoints answer 200 and its paths are in the OpenAPI document; not installed,
the same URLs answer 404, its menu entries and its OpenAPI paths are gone. The bridge's
"Financial status" panel on a CRM account shows exactly when the bridge and finance are
both installed, loyalty's "Loyalty points" panel exactly when loyalty is.
"""
from __future__ import annotations

import itertools
import re

import pytest

from core import lifecycle
from core.api import ApiBlueprint
from core.errors import RuleViolation
from core.db import db, transaction
from tests.conformance import plugin_rules
from tests.conftest import SHIPPED, ApiClient, dispose, login, make_app, token_for

BUSINESS = ("crm", "erp_finance", "erp_inventory")
THIRD_PARTY = ("loyalty",)  # pip install -e examples/loyalty (the README's test command does)
PLUGINS = SHIPPED + THIRD_PARTY
ERP = frozenset({"erp_finance", "erp_inventory"})
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def combinations() -> list[frozenset[str]]:
    found = []
    for size in range(len(BUSINESS) + 1):
        for subset in itertools.combinations(BUSINESS, size):
            found.append(frozenset(subset))
            if "crm" in subset:
                found.append(frozenset(subset) | {"bridge"})
    return found


SHIPPED_COMBINATIONS = combinations()
assert len(SHIPPED_COMBINATIONS) == 12
COMBINATIONS = SHIPPED_COMBINATIONS + [frozenset({"crm", "erp_finance", "bridge", "loyalty"}),
                                       frozenset(SHIPPED) | {"loyalty"}]


def _id(combo: frozenset[str]) -> str:
    return "+".join(n for n in PLUGINS if n in combo) or "kernel-only"


def install_combination(url: str, combo: frozenset[str]) -> None:
    """Install exactly ``combo`` with one app, then throw that app away."""
    app = make_app(url)
    with app.app_context(), transaction():
        registry = app.extensions["tandem"]
        _require_discovered(registry)
        for name in PLUGINS:
            if name in combo:
                lifecycle.install(name)
        if "bridge" not in combo:
            # the bridge installs itself once CRM and an ERP side are both there
            auto = "crm" in combo and bool(combo & ERP)
            assert registry.is_installed("bridge") == auto, "bridge auto_install"
            if auto:
                lifecycle.uninstall("bridge")
    dispose(app)


def _require_discovered(registry) -> None:
    missing = [n for n in THIRD_PARTY if n not in registry.plugins or registry.plugins[n].broken]
    assert not missing, (f"{missing} not discovered or broken: install it with "
                         f"pip install -e examples/loyalty (see README)")


class Surface:
    """The URLs, menu labels and OpenAPI paths one plugin brings to an app."""

    def __init__(self, app, name: str):
        registry = app.extensions["tandem"]
        self.name = name
        self.menu = [item.label for plugin, item in registry.menu if plugin == name]
        self.pages, self.api_lists, self.api_paths = [], [], set()
        for rule, blueprint in plugin_rules(app, registry, name):
            plain_get = "GET" in rule.methods and not rule.arguments
            if isinstance(blueprint, ApiBlueprint):
                self.api_paths.add(_RULE_ARG.sub(r"{\1}", rule.rule))
                if plain_get:
                    self.api_lists.append(rule.rule)
            elif plain_get:
                self.pages.append(rule.rule)
        self.api_root = f"/api/v1/{registry.plugins[name].manifest.prefix}/"
        assert self.menu and self.pages and self.api_lists, (
            f"{name}: found no menu entry, list page or API list endpoint to check")


def _menu_label_shown(html: str, label: str) -> bool:
    """The label is the whole text of an element (not just part of a sentence)."""
    return re.search(rf">\s*{re.escape(label)}\s*<", html) is not None


@pytest.mark.parametrize("combo", COMBINATIONS, ids=_id)
def test_combination(kernel_db, combo):
    install_combination(kernel_db, combo)

    app = make_app(kernel_db)  # a second app: state comes from the database
    try:
        _check_combination(app, combo)
    finally:
        dispose(app)


def _check_combination(app, combo: frozenset[str]) -> None:
    registry = app.extensions["tandem"]
    with app.app_context():
        registry.sync(db.session)
        assert registry.installed - registry.essential_names() == combo
        db.session.remove()

    api = ApiClient(app.test_client(), token_for(app))
    page = login(app.test_client())
    home = page.get("/")
    assert home.status_code == 200
    home_html = home.get_data(as_text=True)
    openapi = app.test_client().get("/api/openapi.json")
    assert openapi.status_code == 200
    doc_paths = set(openapi.get_json()["paths"])

    problems: list[str] = []
    for name in PLUGINS:
        surface = Surface(app, name)
        installed = name in combo
        for label in surface.menu:
            if _menu_label_shown(home_html, label) != installed:
                problems.append(f"{name}: menu label {label!r} "
                                f"{'missing from' if installed else 'shown on'} the home page")
        for url in surface.pages:
            status = page.get(url).status_code
            if status != (200 if installed else 404):
                problems.append(f"{name}: page GET {url} answered {status}")
        for url in surface.api_lists:
            response = api.get(url)
            if installed and (response.status_code != 200 or not response.is_json
                              or response.get_json() is None):
                problems.append(f"{name}: API GET {url} answered {response.status_code} "
                                f"{response.content_type}")
            elif not installed and response.status_code != 404:
                problems.append(f"{name}: API GET {url} answered {response.status_code}")
        if installed:
            missing = sorted(surface.api_paths - doc_paths)
            if missing:
                problems.append(f"{name}: OpenAPI document lacks {missing}")
        else:
            extra = sorted(p for p in doc_paths if p.startswith(surface.api_root))
            if extra:
                problems.append(f"{name}: OpenAPI document shows {extra}")

    problems += _panel_problems(api, page, combo)
    assert not problems, f"combination {_id(combo)}:\n" + "\n".join(problems)


def _panel_problems(api: ApiClient, page, combo: frozenset[str]) -> list[str]:
    """"Financial status" on a CRM account page exactly when bridge and finance are there."""
    created = api.post("/api/v1/crm/accounts", json={"name": "Matrix Ltd"})
    if "crm" not in combo:
        return [] if created.status_code == 404 else [
            f"crm: POST /api/v1/crm/accounts answered {created.status_code} while not installed"]
    if created.status_code != 201:
        return [f"crm: POST /api/v1/crm/accounts answered {created.status_code}: "
                f"{created.get_data(as_text=True)[:300]}"]
    detail = page.get(f"/crm/accounts/{created.get_json()['id']}")
    if detail.status_code != 200:
        return [f"crm: account page answered {detail.status_code}"]
    html = detail.get_data(as_text=True)
    problems = []
    for plugin, title, expected in (("bridge", "Financial status", {"bridge", "erp_finance"} <= combo),
                                    ("loyalty", "Loyalty points", "loyalty" in combo)):
        shown = title in html
        if shown != expected:
            problems.append(f"{plugin}: {title!r} panel {'shown' if shown else 'missing'} "
                            f"on the account page")
    return problems


def test_loyalty_installs_its_dependencies_first_and_holds_them(kernel_db):
    """Installing loyalty alone brings CRM, finance and the bridge; none of them can then
    be uninstalled while loyalty is installed."""
    app = make_app(kernel_db)
    try:
        with app.app_context(), transaction():
            assert lifecycle.install("loyalty") == ["crm", "erp_finance", "bridge", "loyalty"]
            for name in ("bridge", "erp_finance", "crm"):
                with pytest.raises(RuleViolation, match="loyalty"):
                    lifecycle.uninstall(name)
    finally:
        dispose(app)


def test_loyalty_refuses_to_install_without_its_dependencies(kernel_db):
    """Without the bridge (not loaded at all), loyalty is broken and refuses to install."""
    app = make_app(kernel_db, TANDEM_EXCLUDE_PLUGINS=["bridge"])
    try:
        info = app.extensions["tandem"].plugins["loyalty"]
        assert info.broken and "bridge" in info.error
        result = app.test_cli_runner().invoke(args=["modules", "install", "loyalty"])
        assert result.exit_code != 0 and "broken" in result.output and "bridge" in result.output
        with app.app_context():
            registry = app.extensions["tandem"]
            registry.sync(db.session)
            assert registry.installed == registry.essential_names()  # nothing half-installed
    finally:
        dispose(app)


def test_openapi_document_is_the_same_on_every_request(kernel_db):
    """Serving the document must not change it (descriptions must not grow per request)."""
    install_combination(kernel_db, frozenset(SHIPPED))
    app = make_app(kernel_db)
    try:
        client = app.test_client()
        first, second = (client.get("/api/openapi.json").get_json() for _ in range(2))
        operation = second["paths"]["/api/v1/crm/accounts"]["get"]
        assert operation["description"].count("Requires permission") == 1, operation["description"]
        assert first == second
    finally:
        dispose(app)
