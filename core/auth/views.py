"""Login, logout, the profile page (API tokens), and the users and roles pages."""
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from core.auth import services
from core.auth.models import Role, User
from core.auth.schemas import LoginSchema, UserCreateSchema, UserUpdateSchema
from core.db import db
from core.errors import RuleViolation, ValidationFailed
from core.forms import load_form
from core.permissions import login_required, public, requires
from core.registry import current_registry

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only redirect to a path of this site after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    values, errors = {"next": request.args.get("next", "")}, {}
    if request.method == "POST":
        data, errors = load_form(LoginSchema())
        values = request.form
        if data:
            try:
                user = services.authenticate(data["email"], data["password"], request.remote_addr or "")
            except RuleViolation as exc:
                db.session.commit()  # keep the record of the refused try
                flash(exc.message, "error")
                return render_template("auth/login.html", values=values, errors={}), 429
            db.session.commit()
            if user:
                login_user(user)
                flash(f"Welcome, {user.name}.", "success")
                return redirect(_safe_next(data.get("next")))
            errors = {"password": ["Wrong email or password."]}
        return render_template("auth/login.html", values=values, errors=errors), 401 if data else 422
    return render_template("auth/login.html", values=values, errors=errors)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """The user's own page: their roles and API tokens (create, revoke)."""
    new_token, errors = None, {}
    if request.method == "POST":
        if request.form.get("revoke"):
            services.revoke_token(int(request.form["revoke"]), owner=current_user)
            flash("Token revoked.", "success")
            return redirect(url_for("auth.profile"))
        try:
            token, new_token = services.create_token(current_user, request.form.get("name", ""))
            flash(f"Token “{token.name}” created. Copy it now: it will not be shown again.", "success")
        except ValidationFailed as exc:
            errors = exc.errors
    return render_template("auth/profile.html", tokens=services.tokens_of(current_user),
                           new_token=new_token, errors=errors, values=request.form), \
        422 if errors else 200


@bp.route("/admin/users")
@requires("auth.user.read")
def users():
    q = request.args.get("q", "").strip()
    stmt = sa.select(User).order_by(User.name)
    if q:
        stmt = stmt.where(sa.or_(User.name.ilike(f"%{q}%"), User.email.ilike(f"%{q}%")))
    return render_template("auth/users.html", users=db.session.scalars(stmt).all(), q=q)


def _all_roles():
    return db.session.scalars(sa.select(Role).order_by(Role.name)).all()


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires("auth.user.write")
def new_user():
    errors = {}
    if request.method == "POST":
        data, errors = load_form(UserCreateSchema())
        if data:
            try:
                user = services.create_user(**data)
                flash(f"User {user.email} created.", "success")
                return redirect(url_for("auth.users"))
            except ValidationFailed as exc:
                errors = exc.errors
    return render_template("auth/user_form.html", user=None, roles=_all_roles(), errors=errors,
                           values=request.form), 422 if errors else 200


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("auth.user.write")
def edit_user(user_id):
    user, errors = services.get_user(user_id), {}
    if request.method == "POST":
        data, errors = load_form(UserUpdateSchema())
        if data is not None:
            data.setdefault("roles", [])
            if user.id == current_user.id and not data.get("active", False):
                errors = {"active": ["You cannot deactivate yourself."]}
            else:
                try:
                    services.update_user(user, **data)
                    if request.form.get("password"):
                        services.set_password(user, request.form["password"])
                    flash(f"User {user.email} saved.", "success")
                    return redirect(url_for("auth.users"))
                except ValidationFailed as exc:
                    errors = exc.errors
    return render_template("auth/user_form.html", user=user, roles=_all_roles(), errors=errors,
                           values=request.form if request.method == "POST" else None), \
        422 if errors else 200


@bp.route("/admin/roles")
@requires("auth.user.read")
def roles():
    registry = current_registry()
    permissions = [p for p in registry.permissions if p.plugin in registry.installed_prefixes]
    return render_template("auth/roles.html", roles=_all_roles(), permissions=permissions)


@bp.route("/admin/roles/new", methods=["GET", "POST"], defaults={"role_id": None})
@bp.route("/admin/roles/<int:role_id>", methods=["GET", "POST"])
@requires("auth.user.write")
def edit_role(role_id):
    role = db.session.get(Role, role_id) if role_id else None
    registry = current_registry()
    declared = [p for p in registry.permissions if p.plugin in registry.installed_prefixes]
    errors = {}
    if request.method == "POST":
        try:
            role = services.save_role(request.form.get("name", ""), request.form.get("description", ""),
                                      request.form.getlist("permissions"),
                                      {p.name for p in registry.permissions}, role)
            flash(f"Role {role.name} saved.", "success")
            return redirect(url_for("auth.roles"))
        except ValidationFailed as exc:
            errors = exc.errors
    return render_template("auth/role_form.html", role=role, permissions=declared, errors=errors,
                           values=request.form if request.method == "POST" else None), \
        422 if errors else 200
