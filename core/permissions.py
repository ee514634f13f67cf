"""Every route declares the permission it needs; the kernel checks it before the view runs.

    @blp.route("/deals")
    @requires("crm.deal.read")
    def list_deals(): ...

``public`` marks routes open to anyone (login page, lead form) and ``login_required``
routes open to any logged-in user. A route that declares nothing is refused to
everyone, so a forgotten declaration fails closed (and the conformance test names it).
"""
from __future__ import annotations

from typing import Callable

PUBLIC = "public"
LOGGED_IN = "logged-in"
ATTR = "tandem_permission"


def requires(permission: str) -> Callable:
    """Declare the permission a view function needs (put it right under the route decorator)."""

    def mark(view: Callable) -> Callable:
        setattr(view, ATTR, permission)
        return view

    return mark


public = requires(PUBLIC)
login_required = requires(LOGGED_IN)


def permission_of(view: Callable | None, method: str = "GET") -> str | None:
    """The permission declared for ``view`` (a function, or a MethodView per HTTP method)."""
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        declared = getattr(handler, ATTR, None)
        return declared or getattr(view_class, ATTR, None)
    return getattr(view, ATTR, None)
