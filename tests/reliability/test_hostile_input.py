"""Hostile input in every text field of every record type: escaped wherever it is shown,
and neutralised in CSV exports."""
import csv
import io

import marshmallow as ma
import pytest

from core.records import RECORD_TYPES
from tests.conftest import ApiClient, login, token_for

XSS = '<script>alert("x")</script>'
FORMULA = "=HYPERLINK(\"http://evil.example\")"


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


def test_xss_payload_is_escaped_on_list_detail_and_search(app, created):
    assert created, "no record type accepted free text"
    browser = login(app.test_client())
    for rt, record_id in created:
        list_url = app.url_map.bind("localhost").build(f"{rt.blueprint}.{rt.name}_list")
        detail_url = app.url_map.bind("localhost").build(f"{rt.blueprint}.{rt.name}_detail",
                                                         {"record_id": record_id})
        for url in (list_url, detail_url, "/search?q=script", "/"):
            page = browser.get(url).get_data(as_text=True)
            assert XSS not in page, f"raw payload on {url}"
        assert "&lt;script&gt;" in browser.get(detail_url).get_data(as_text=True)


def test_csv_exports_neutralise_formulas(app):
    api = ApiClient(app.test_client(), token_for(app))
    browser = login(app.test_client())
    checked = 0
    for rt in _record_types(app):
        if not _text_fields(rt) or _create(api, rt, FORMULA) is None:
            continue
        url = app.url_map.bind("localhost").build(f"{rt.blueprint}.{rt.name}_export")
        text = browser.get(url).get_data(as_text=True)
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert FORMULA not in cells and "'" + FORMULA in cells, rt.name
        checked += 1
    assert checked >= 3
