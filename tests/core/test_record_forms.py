"""Every record type's edit form, opened on the demo data and saved as it stands, changes
nothing: what the form shows is what the schema reads back (dates, money, choices,
checkboxes, links beyond what a select lists), and no rule refuses a record its own
values (a name clashing with itself)."""
from __future__ import annotations

import html
import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from core.records import RECORD_TYPES
from tests.conftest import login

PER_TYPE = 3  # records of each type opened and saved
CHANGING = {"updated_at", "revision"}  # what a save may move


def form_values(page: str) -> dict[str, str]:
    """What a browser would post for the record form on ``page`` as it stands."""
    body = re.search(r'<form class="card form"[^>]*method="post"[^>]*>(.*?)</form>', page, re.S).group(1)
    values = {}
    for tag in re.findall(r"<input[^>]*>", body):
        name, kind = re.search(r'name="([^"]+)"', tag), re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or (kind and kind.group(1) == "submit"):
            continue
        if kind and kind.group(1) == "checkbox":
            if " checked" in tag:
                values[name.group(1)] = value.group(1) if value else "on"
        else:
            values[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options) \
            or re.search(r'<option value="([^"]*)"', options)
        values[name] = html.unescape(chosen.group(1)) if chosen else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S):
        values[name] = html.unescape(text)
    return values


def _blank_as_none(value):
    return None if value == "" else value  # a form cannot tell an empty text from none


@pytest.fixture
def demo_app(app):
    from core.demo import load_demo

    @contextmanager
    def progress_for(_name):
        yield lambda n: None

    with app.app_context():
        load_demo(progress_for)
    return app


def _samples(app):
    """(record type, [(edit URL, id, dump)]) for a few editable records of every installed type."""
    from flask import url_for

    from core.db import db

    registry = app.extensions["tandem"]
    samples = []
    with app.test_request_context():
        for rt in {id(rt): rt for rt in RECORD_TYPES}.values():
            if rt.plugin not in registry.installed_prefixes:
                continue
            pk = sa.inspect(rt.model).primary_key[0]
            records = [r for r in db.session.scalars(sa.select(rt.model).order_by(pk).limit(20))
                       if not rt.lock_reason(r)][:PER_TYPE]
            samples.append((rt, [(url_for(f"{rt.blueprint}.{rt.name}_edit", record_id=r.id), r.id, rt.schema().dump(r))
                                 for r in records]))
    return samples


def test_every_edit_form_saved_as_it_stands_changes_nothing(demo_app):
    from core.db import db

    admin = login(demo_app.test_client())
    samples = _samples(demo_app)
    assert sum(1 for _, records in samples if records) >= 20  # the demo gives most types records
    for rt, records in samples:
        for url, record_id, before in records:
            page = admin.get(url)
            assert page.status_code == 200, url
            saved = admin.post(url, data=form_values(page.get_data(as_text=True)))
            assert saved.status_code == 302, (url, re.findall(r'class="field-error"[^>]*>([^<]*)',
                                                              saved.get_data(as_text=True)))
            with demo_app.test_request_context():
                after = rt.schema().dump(db.session.get(rt.model, record_id))
            changed = {k: (before[k], after.get(k)) for k in before
                       if k not in CHANGING and _blank_as_none(before[k]) != _blank_as_none(after.get(k))}
            assert not changed, (url, changed)
