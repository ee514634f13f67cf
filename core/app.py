"""The application factory (Flask's app-factory pattern, one plugin manager per app)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, flash, make_response, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule

from core import api as api_module
from core import idempotency
from core import customfields  # noqa: F401  (its tables are part of the kernel's schema)
from core.audit import install_audit_trail
from core.auth.login import init_login
from core.db import configure_engine_events, db, init_read_engine, keep_loaded_objects
from core.errors import TandemError
from core.permissions import LOGGED_IN, PUBLIC, permission_of
from core.registry import Registry, build_plugin_manager, discover
from core.states import watch_state_changes
from core.ui import init_ui

csrf = CSRFProtect()
login_manager = LoginManager()
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _instance_dir() -> Path:
    path = Path(os.environ.get("TANDEM_INSTANCE", Path.cwd() / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = _instance_dir() / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def default_config() -> dict:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{_instance_dir() / 'tandem.sqlite'}"
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TANDEM_READONLY_DATABASE_URI": os.environ.get("DATABASE_URL_READONLY") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in check_access, after authentication
        "WTF_CSRF_TIME_LIMIT": None,
        "TANDEM_EXTRA_PLUGINS": [],
        "TANDEM_EXCLUDE_PLUGINS": [p for p in os.environ.get("TANDEM_EXCLUDE_PLUGINS", "").split(",") if p],
    }


class LazyBuilderRule(Rule):
    """A URL rule that compiles its URL builder the first time ``url_for`` needs it.

    Werkzeug compiles a Python function per rule for building URLs; with the hundreds of
    routes the plugins register, that was a third of start-up, mostly for rules a worker
    never builds a URL for. Matching is unchanged.
    """

    def _compile_builder(self, append_unknown: bool = True):
        compiled = None
        compile_now = super()._compile_builder

        def build(rule, *args, **kwargs):
            nonlocal compiled
            if compiled is None:
                compiled = compile_now(append_unknown)
            return compiled(rule, *args, **kwargs)

        return build


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` up to the largest id a database column holds: past it, a 404."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


class TandemFlask(Flask):
    url_rule_class = LazyBuilderRule


def create_app(config: dict | None = None) -> Flask:
    """Build a Tandem app: discover plugins, build its own pluggy manager, wire routes.

    ``config`` overrides the defaults (``SQLALCHEMY_DATABASE_URI``, ``SECRET_KEY``,
    ``TANDEM_EXTRA_PLUGINS``: extra plugin packages to load, for tests and development;
    ``TANDEM_EXCLUDE_PLUGINS``: plugins not to load at all, also from the environment).
    """
    app = TandemFlask("core")
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(default_config())
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key()

    app.json.sort_keys = False  # payloads keep their fields' order
    db.init_app(app)
    keep_loaded_objects()
    watch_state_changes()
    install_audit_trail()
    with app.app_context():
        configure_engine_events(db.engine)
    init_read_engine(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    init_login(login_manager)
    api = api_module.init_api(app)

    plugins = discover(app.config["TANDEM_EXTRA_PLUGINS"], app.config["TANDEM_EXCLUDE_PLUGINS"])
    registry = Registry(plugins, build_plugin_manager(plugins))
    app.extensions["tandem"] = registry
    _register_contributions(app, api, registry)

    app.before_request(_sync_and_gate)
    app.before_request(_check_access)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)
    _register_error_handlers(app)
    init_ui(app)
    return app


def _register_contributions(app: Flask, api, registry: Registry) -> None:
    """Call the start-up registration hooks of every healthy plugin, installed or not."""
    for plugin, blueprints in registry.results_by_plugin("register_blueprints"):
        for blueprint in blueprints:
            if isinstance(blueprint, api_module.ApiBlueprint):
                api.register_blueprint(blueprint)
            else:
                app.register_blueprint(blueprint)
            registry.blueprint_owner[blueprint.name] = plugin
    from core.cli import KERNEL_COMMANDS

    for command in KERNEL_COMMANDS:
        app.cli.add_command(command)
    for _plugin, commands in registry.results_by_plugin("register_cli_commands"):
        for command in commands:
            app.cli.add_command(command)
    registry.permissions = [p for _, perms in registry.results_by_plugin("register_permissions")
                            for p in perms]
    registry.menu = sorted(
        ((plugin, item) for plugin, items in registry.results_by_plugin("register_menu")
         for item in items), key=lambda pair: pair[1].order)


def _sync_and_gate():
    """See installs made by other workers; answer 404 for routes of uninstalled plugins."""
    registry: Registry = app_registry()
    registry.sync(db.session)
    for name in request.blueprints:
        owner = registry.blueprint_owner.get(name)
        if owner and not registry.is_installed(owner):
            return _not_found()
    return None


def app_registry() -> Registry:
    from flask import current_app

    return current_app.extensions["tandem"]


def _not_found():
    from werkzeug.exceptions import NotFound

    raise NotFound()


def _check_access():
    """Authentication, the route's declared permission, then CSRF for writes."""
    from flask import current_app

    if request.endpoint is None or request.endpoint == "static" or request.endpoint.endswith(".static"):
        return None
    view = current_app.view_functions.get(request.endpoint)
    permission = permission_of(view, request.method)
    is_api = api_module.is_api_request()
    if permission != PUBLIC:
        if not current_user.is_authenticated:
            if is_api:
                response = api_module.error_response(401, "unauthorized", "Authentication required: "
                                                     "send 'Authorization: Bearer <token>'")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if permission is None or (permission != LOGGED_IN and not current_user.can(permission)):
            reason = ("this route declares no permission" if permission is None
                      else f"permission {permission!r} required")
            if is_api:
                return api_module.error_response(403, "forbidden", f"Forbidden: {reason}")
            return render_template("core/error.html", status=403, title="Not allowed",
                                   message=f"You are not allowed to see this page ({reason})."), 403
    if _needs_csrf(permission, is_api):
        csrf.protect()
    if current_user.is_authenticated:
        return idempotency.claim(current_user.id)
    return None


def _needs_csrf(permission: str | None, is_api: bool) -> bool:
    """Writes carried by the session cookie need the form's token.

    Not needed for bearer-token calls (a token is not sent by the browser on its own)
    nor for public API endpoints (they grant nothing a forged request could abuse,
    such as a lead-capture endpoint posted from another site).
    """
    from flask import current_app

    if request.method not in WRITE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return False
    if getattr(request, "bearer_authenticated", False):
        return False
    return not (is_api and permission == PUBLIC)


def _finish_transaction(response):
    """A request is one transaction: commit on success, roll back on any error status."""
    if response.status_code >= 400:
        db.session.rollback()
        idempotency.release(response)
        return response
    try:
        idempotency.record(response)
        db.session.commit()
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        idempotency.release(response)
        message = "the change conflicts with existing data"
        if api_module.is_api_request():
            return api_module.error_response(409, "integrity_error", message,
                                             details={"reason": str(exc.orig)[:200]})
        flash(message[0].upper() + message[1:] + ".", "error")
        return redirect(request.referrer or url_for("admin.home"))
    return response


def _security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        if api_module.is_api_request():
            return api_module.http_error_to_json(error)
        return render_template("core/error.html", status=error.code, title=error.name,
                               message=error.description), error.code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        if api_module.is_api_request():
            return api_module.error_response(400, "csrf_failed", error.description)
        return render_template("core/error.html", status=400, title="Form expired",
                               message="The form was not accepted (missing or expired security "
                                       "token). Go back, reload the page and try again."), 400

    @app.errorhandler(sa.exc.DataError)
    @app.errorhandler(sa.exc.StatementError)
    @app.errorhandler(OverflowError)
    def out_of_range(error):
        """A value the database cannot store (a 30-digit id, a number past NUMERIC's
        precision) is bad input: 422, never a 500. Other statement errors stay 500s."""
        orig = getattr(error, "orig", None)
        if isinstance(error, sa.exc.StatementError) and not isinstance(error, sa.exc.DataError) \
                and not isinstance(orig, (OverflowError, ValueError)):
            raise error
        db.session.rollback()
        message = "A value is out of range or of the wrong kind for the database."
        if api_module.is_api_request():
            return api_module.error_response(422, "value_out_of_range", message)
        return render_template("core/error.html", status=422, title="Not accepted", message=message), 422

    @app.errorhandler(sa.exc.OperationalError)
    def database_unavailable(error):
        """The database failed mid-request (connection lost, deadlock, lock timeout): the
        transaction is rolled back, so nothing was saved and the request can be retried."""
        app.logger.warning("database error, request rolled back: %s", error)
        db.session.rollback()
        message = "The database did not answer; nothing was saved. Try again in a moment."
        if api_module.is_api_request():
            response = api_module.error_response(503, "database_unavailable", message)
        else:
            response = make_response(render_template("core/error.html", status=503, title="Not done",
                                                     message=message), 503)
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(TandemError)
    def tandem_error(error: TandemError):
        db.session.rollback()
        if api_module.is_api_request():
            return api_module.tandem_error_to_json(error)
        return render_template("core/error.html", status=error.status, title="Not done",
                               message=error.message), error.status
