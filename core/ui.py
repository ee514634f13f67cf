"""What every page template may call: the menu, panels, permission checks."""
from __future__ import annotations

import uuid

from flask import Flask, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from core.registry import current_registry


def main_menu() -> list[dict]:
    """Menu entries of installed plugins that the current user may open."""
    if not current_user.is_authenticated:
        return []
    registry = current_registry()
    entries = []
    for plugin, item in registry.menu:
        if registry.is_installed(plugin) and current_user.can(item.permission):
            url = url_for(item.endpoint)
            entries.append({"label": item.label, "url": url, "icon": item.icon,
                            "active": request.path == url or (url != "/" and request.path.startswith(url))})
    return entries


def render_panels(slot: str, obj) -> Markup:
    """Render the panels other plugins add to ``slot`` of this page."""
    panels = [p for found in current_registry().hook.panels(slot=slot, obj=obj) for p in found]
    panels.sort(key=lambda p: p.order)
    return Markup("".join(render_template("core/panel.html", panel=p) for p in panels))


def can(permission: str) -> bool:
    return current_user.is_authenticated and current_user.can(permission)


def installed(name: str) -> bool:
    return current_registry().is_installed(name)


def new_idempotency_key() -> str:
    """A fresh key for a form: a double-clicked submit sends it twice, and acts once."""
    return uuid.uuid4().hex


def badge_slug(text) -> str:
    """The CSS class suffix of a state's badge: "In progress" -> "in-progress"."""
    return str(text).lower().replace("_", "-").replace(" ", "-").replace("(", "").replace(")", "")


def init_ui(app: Flask) -> None:
    app.jinja_env.globals.update(main_menu=main_menu, render_panels=render_panels, can=can,
                                 installed=installed, new_idempotency_key=new_idempotency_key)
    app.jinja_env.filters["zip_choices"] = lambda values: [(v, v) for v in values]
    app.jinja_env.filters["badge_slug"] = badge_slug
