"""Hostile input in every text field of every record type: escaped wherever it is shown,
and neutralised in CSV exports."""
import csv
import io
from collections import Counter

import marshmallow as ma
import pytest

from core.records import RECORD_TYPES
from tests.conftest import ApiClient, login, token_for

XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
RAW = ("<script>alert", "<img src=x onerror")  # either, unescaped, would run
FORMULA = "=HYPERLINK(\"http://evil.example\")"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# pages showing many records at once: the board, search, the dashboard, tasks, reports
SHARED_PAGES = ("/", "/search?q=script", "/search?q=img", "/crm/board", "/crm/my-tasks", "/crm/overdue-tasks",
                "/crm/notifications", "/crm/reports/pipeline", "/crm/reports/forecast",
                "/crm/reports/win-rate-owner", "/crm/reports/campaigns", "/bridge/links")


def _text_fields(rt):
    return [name for name, f in rt.schema().load_fields.items() if type(f) is ma.fields.String]


def _create(api, rt, value):
    """Create a record whose every text field holds ``value`` where its validation allows.

    Fields that refuse the value (a SKU pattern, a domain) get a plain value if required
    and are left out otherwise; the rest keep the hostile text. Returns the new id.
    """
    schema = rt.schema()
    data = {name: value for name in _text_fields(rt)}
    for _ in range(5):
        response = api.post(f"/api/v1/{rt.plugin}/{rt.plural}", json=data)
        if response.status_code == 201:
            return response.get_json()["id"]
        if response.status_code != 422:
            return None
        for name in response.get_json().get("errors", {}):
            field = schema.load_fields.get(name)
            if field is None:
                return None
            if field.required:
                data[name] = "plain1"
            else:
                data.pop(name, None)
    return None


def _record_types(app):
    from core.db import db

    registry = app.extensions["tandem"]
    with app.app_context():
        registry.sync(db.session)
    installed = registry.installed_prefixes
    return [rt for rt in {id(rt): rt for rt in RECORD_TYPES}.values() if rt.plugin in installed]


@pytest.fixture
def created(app):
    """One record of each record type, created through its API with the XSS payload."""
    api = ApiClient(app.test_client(), token_for(app))
    made = []
    for rt in _record_types(app):
        record_id = _create(api, rt, XSS) if _text_fields(rt) else None
        if record_id is not None:
            made.append((rt, record_id))
    return made


def _raw(page: str) -> str | None:
    return next((r for r in RAW if r in page), None)


def test_xss_payload_is_escaped_on_every_page_that_shows_it(app, created):
    """List, detail (with other plugins' panels), edit form, print pages, and the pages
    that gather many records: the payload is shown, escaped, never as markup."""
    assert len(created) >= 13, "the record types creatable without references accept free text"
    browser = login(app.test_client())
    urls = app.url_map.bind("localhost")
    shown = 0
    for rt, record_id in created:
        pages = [urls.build(f"{rt.blueprint}.{rt.name}_list"),
                 urls.build(f"{rt.blueprint}.{rt.name}_detail", {"record_id": record_id}),
                 urls.build(f"{rt.blueprint}.{rt.name}_edit", {"record_id": record_id})]
        if rt.key == "crm.quote":
            pages.append(f"/crm/quotes/{record_id}/print")
        for url in pages:
            page = browser.get(url).get_data(as_text=True)
            assert not _raw(page), f"raw payload on {url}"
        shown += "&lt;script&gt;" in browser.get(pages[1]).get_data(as_text=True)
    print(f"\nXSS: {len(created)} record types x 3-4 pages, {len(SHARED_PAGES)} shared pages")
    assert shown >= len(created) - 2  # the payload is there, escaped (a few keep it in a code only)
    for url in SHARED_PAGES:
        response = browser.get(url)
        assert response.status_code in (200, 404), url
        assert not _raw(response.get_data(as_text=True)), f"raw payload on {url}"
    assert "&lt;script&gt;" in browser.get("/crm/board").get_data(as_text=True)


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_csv_exports_neutralise_formulas(app):
    """Every record type's export, the CRM API export and the report CSVs: no cell starts
    with a character a spreadsheet runs as a formula, whatever the record holds."""
    api = ApiClient(app.test_client(), token_for(app))
    browser = login(app.test_client())
    urls = app.url_map.bind("localhost")
    exports = {"/api/v1/crm/export/accounts", "/api/v1/crm/export/contacts", "/api/v1/crm/export/leads",
               "/crm/reports/win-rate-campaign.csv", "/crm/reports/campaigns.csv"}
    made = Counter()
    for rt in _record_types(app):
        if not _text_fields(rt):
            continue
        for start in FORMULA_START:
            made[rt.key] += _create(api, rt, start + FORMULA[1:]) is not None
        exports.add(urls.build(f"{rt.blueprint}.{rt.name}_export"))
    dangerous, quoted = [], 0
    for url in sorted(exports):
        response = (api if url.startswith("/api/") else browser).get(url)
        assert response.status_code == 200, url
        cells = _cells(response.get_data(as_text=True))
        dangerous += [(url, c[:40]) for c in cells if c.startswith(FORMULA_START)]
        quoted += sum(c.startswith("'" + s) for c in cells for s in FORMULA_START)
    print(f"\nCSV: {len(exports)} exports, {sum(made.values())} hostile records, {quoted} cells neutralised")
    assert not dangerous, dangerous[:20]
    assert sum(1 for n in made.values() if n) >= 13 and quoted >= 50  # the payloads were exported
