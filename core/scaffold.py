"""``tandem plugin new NAME``: a complete, pip-installable plugin to start from.

The package has the anatomy of DESIGN.md: a manifest, a model with its first
migration, a schema, services, an API endpoint, a page with its template, a menu
entry, a permission, an event handler, demo data and a passing test.
"""
from __future__ import annotations

import re
from pathlib import Path
from string import Template

from core.errors import ValidationFailed

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")

FILES: dict[str, str] = {
    "pyproject.toml": '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tandem-$name"
version = "0.1.0"
description = "$Title: a Tandem plugin"
requires-python = ">=3.11"
dependencies = ["tandem"]

[project.entry-points."tandem.plugins"]
$name = "tandem_$name"

[tool.setuptools.packages.find]
include = ["tandem_$name*"]

[tool.setuptools.package-data]
"*" = ["templates/**/*", "migrations/**/*"]
''',
    "README.md": '''# tandem-$name

A Tandem plugin. Install it next to Tandem and enable it on the Apps page:

    pip install -e .
    tandem modules install $name

Run its tests: `python -m pytest tests`.
''',
    "tandem_$name/__init__.py": '''"""$Title: a Tandem plugin."""
from core.manifest import Manifest

MANIFEST = Manifest(name="$name", version="0.1.0", summary="$Title")
''',
    "tandem_$name/models.py": '''"""$Title records."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Timestamped, db


class Item(Timestamped, db.Model):
    """One $name item."""

    __tablename__ = "${name}_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
''',
    "tandem_$name/schemas.py": '''"""Validation and output shape of $name items."""
import marshmallow as ma
from marshmallow import fields, validate

from core.api import UtcDateTime


class ItemSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    notes = fields.String(allow_none=True)
    created_at = UtcDateTime(dump_only=True)
''',
    "tandem_$name/services.py": '''"""$Title operations: the only code that changes $name records."""
from core.db import db
from tandem_$name.models import Item


def create_item(data: dict) -> Item:
    """Create an item."""
    item = Item(name=data["name"].strip(), notes=data.get("notes"))
    db.session.add(item)
    db.session.flush()
    return item


def update_item(item: Item, data: dict) -> Item:
    """Change an item's fields."""
    for key in ("name", "notes"):
        if key in data:
            setattr(item, key, data[key])
    db.session.flush()
    return item
''',
    "tandem_$name/records.py": '''"""How $name items are listed, searched and edited (core.records)."""
from core.records import Column, FormField, RecordType
from tandem_$name import services
from tandem_$name.models import Item
from tandem_$name.schemas import ItemSchema

ITEM = RecordType(
    plugin="$name", blueprint="$name", name="item", plural="items", model=Item, schema=ItemSchema,
    create=services.create_item, update=services.update_item,
    columns=(Column("name", "Name", sort="name", link=True), Column("notes", "Notes")),
    form=(FormField("name", "Name", required=True), FormField("notes", "Notes", "textarea")),
    search=(Item.name,), sortable={"id": Item.id, "name": Item.name}, default_sort="name",
)
''',
    "tandem_$name/api.py": '''"""/api/v1/$name: $name items as JSON."""
from core.api import ApiBlueprint
from core.records import add_record_api
from tandem_$name.records import ITEM

blp = ApiBlueprint("$name", __name__)
add_record_api(blp, ITEM)
''',
    "tandem_$name/views.py": '''"""$Title pages."""
from flask import Blueprint, render_template

from core.permissions import requires
from core.records import add_record_pages
from tandem_$name.records import ITEM

bp = Blueprint("$name", __name__, url_prefix="/$name", template_folder="templates")
add_record_pages(bp, ITEM)


@bp.route("/about")
@requires("$name.item.read")
def about():
    """A page of the plugin's own, with its own template."""
    return render_template("$name/about.html")
''',
    "tandem_$name/templates/$name/about.html": '''{% extends "core/base.html" %}
{% block title %}About $Title{% endblock %}
{% block content %}
<section class="card">
  <p>$Title is installed. Its items are <a href="{{ url_for('$name.item_list') }}">here</a>.</p>
</section>
{% endblock %}
''',
    "tandem_$name/hooks.py": '''"""How $name plugs into Tandem."""
from core import hookimpl
from core.contrib import MenuItem, Permission


@hookimpl
def register_blueprints():
    from tandem_$name import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [Permission("$name.item.read", "See $name items"),
            Permission("$name.item.write", "Create and edit $name items")]


@hookimpl
def register_menu():
    return [MenuItem("$Title", "$name.item_list", "$name.item.read", order=500)]


@hookimpl
def on_module_installed(event):
    """An event handler: the first install creates a welcome item."""
    if event.name == "$name" and event.first_time:
        from tandem_$name.services import create_item

        create_item({"name": "Welcome to $Title"})


@hookimpl
def load_demo_data(progress):
    from tandem_$name.services import create_item

    for n in range(1, 11):
        create_item({"name": f"Demo item {n}"})
        progress(1)
''',
    "tandem_$name/migrations/versions/${name}_0001_first_tables.py": '''"""first tables of $name

Revision ID: ${name}_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "${name}_0001"
down_revision = None
branch_labels = ("$name",)
depends_on = $core_heads


def upgrade():
    op.create_table(
        "${name}_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_${name}_item")),
    )


def downgrade():
    op.drop_table("${name}_item")
''',
    "tests/test_$name.py": '''"""$Title works inside Tandem: install, page, API, event handler."""
import re

import pytest

from core import create_app, lifecycle
from core.auth import services as auth
from core.cli import init_database
from core.db import db, transaction


@pytest.fixture
def app(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite'}",
                      "SECRET_KEY": "test", "TESTING": True})
    with app.app_context():
        init_database("admin@example.com", "admin-pass-123")
        with transaction():
            lifecycle.install("$name")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_items_through_the_api_and_the_page(app):
    with app.app_context(), transaction():
        _token, plain = auth.create_token(auth.user_by_email("admin@example.com"), "test")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    created = client.post("/api/v1/$name/items", json={"name": "First"}, headers=headers)
    assert created.status_code == 201
    names = [i["name"] for i in client.get("/api/v1/$name/items", headers=headers).get_json()["items"]]
    assert names == ["First", "Welcome to $Title"]  # the welcome item came from the event handler
    assert client.post("/api/v1/$name/items", json={}, headers=headers).status_code == 422

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    client.post("/login", data={"email": "admin@example.com", "password": "admin-pass-123",
                                "csrf_token": token})
    listing = client.get("/$name/items").get_data(as_text=True)
    assert "First" in listing and 'href="/$name/items"' in client.get("/").get_data(as_text=True)
    assert client.get("/$name/about").status_code == 200
''',
}


def new_plugin(name: str, path: str | Path, core_heads: list[str], taken: set[str]) -> Path:
    """Write a new plugin package ``tandem-<name>`` under ``path``; returns its folder."""
    if not NAME.match(name or ""):
        raise ValidationFailed({"name": ["Use 2 to 31 lower-case letters, digits or '_', "
                                         "starting with a letter."]})
    if name in taken:
        raise ValidationFailed({"name": [f"A plugin named {name!r} already exists."]})
    root = Path(path) / f"tandem-{name}"
    if root.exists():
        raise ValidationFailed({"path": [f"{root} already exists."]})
    values = {"name": name, "Title": name.replace("_", " ").title(), "core_heads": repr(tuple(core_heads))}
    for relative, text in FILES.items():
        target = root / Template(relative).substitute(values)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(text).substitute(values))
    return root
