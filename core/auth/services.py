"""Users, roles and tokens: every change to them goes through these functions."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from core.auth.models import ApiToken, LoginAttempt, Role, User
from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed

ADMIN_ROLE = "Administrator"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_FAILED_LOGINS = 10
LOGIN_WINDOW = dt.timedelta(minutes=15)


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed({"password": [f"Use at least {MIN_PASSWORD} characters."]})


def create_user(email: str, name: str, password: str, roles: list[str] = ()) -> User:
    """Create a user with a scrypt-hashed password and the named roles."""
    email = (email or "").strip().lower()
    errors = {}
    if not EMAIL.match(email):
        errors["email"] = ["Enter a valid email address."]
    elif db.session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = ["A user with this email already exists."]
    if not (name or "").strip():
        errors["name"] = ["Enter a name."]
    if errors:
        raise ValidationFailed(errors)
    _check_password(password)
    user = User(email=email, name=name.strip(), password_hash=generate_password_hash(password))
    user.roles = roles_named(roles)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, name: str | None = None, active: bool | None = None,
                roles: list[str] | None = None) -> User:
    """Change a user's name, active flag or roles."""
    if name is not None:
        if not name.strip():
            raise ValidationFailed({"name": ["Enter a name."]})
        user.name = name.strip()
    if active is not None:
        user.active = active
    if roles is not None:
        user.roles = roles_named(roles)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace a user's password."""
    _check_password(password)
    user.password_hash = generate_password_hash(password)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))


def login_blocked(email: str, remote_addr: str) -> bool:
    """Whether too many recent failed logins for this email or address block another try."""
    since = utcnow() - LOGIN_WINDOW
    failures = db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.at >= since, LoginAttempt.success.is_(False),
            sa.or_(LoginAttempt.email == email, LoginAttempt.remote_addr == remote_addr)))
    return failures >= MAX_FAILED_LOGINS


def authenticate(email: str, password: str, remote_addr: str = "") -> User | None:
    """The active user with this email and password, or None. Every try is recorded.

    Raises ``RuleViolation`` when too many tries failed recently (rate limit).
    """
    email = (email or "").strip().lower()
    if login_blocked(email, remote_addr):
        raise RuleViolation("Too many failed logins; wait a few minutes and try again.",
                            code="login_rate_limited")
    user = user_by_email(email)
    ok = bool(user and user.active and check_password_hash(user.password_hash, password or ""))
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr, success=ok))
    if ok:
        user.last_login_at = utcnow()
    return user if ok else None


# --- roles ---


def roles_named(names) -> list[Role]:
    names = list(dict.fromkeys(names or []))
    if not names:
        return []
    roles = db.session.scalars(sa.select(Role).where(Role.name.in_(names))).all()
    missing = set(names) - {r.name for r in roles}
    if missing:
        raise ValidationFailed({"roles": [f"Unknown role: {', '.join(sorted(missing))}."]})
    return roles


def ensure_role(name: str, description: str, permissions) -> Role:
    """Create a role, or add permissions to the existing one (never removes any)."""
    role = db.session.scalar(sa.select(Role).where(Role.name == name))
    if role is None:
        role = Role(name=name, description=description, permissions=list(permissions))
        db.session.add(role)
    else:
        role.permissions = sorted(set(role.permissions) | set(permissions))
    db.session.flush()
    return role


def save_role(name: str, description: str, permissions: list[str], known: set[str],
              role: Role | None = None) -> Role:
    """Create or edit a role from the roles page; every permission must be declared."""
    errors = {}
    if not (name or "").strip():
        errors["name"] = ["Enter a name."]
    elif db.session.scalar(sa.select(Role.id).where(Role.name == name.strip(),
                                                    Role.id != (role.id if role else -1))):
        errors["name"] = ["A role with this name exists."]
    prefixes = {name.split(".", 1)[0] for name in known}
    unknown = [p for p in permissions if p != "*" and p not in known
               and not (p.endswith(".*") and p[:-2] in prefixes)]
    if unknown:
        errors["permissions"] = [f"Unknown permission: {', '.join(unknown)}."]
    if errors:
        raise ValidationFailed(errors)
    role = role or Role()
    role.name, role.description, role.permissions = name.strip(), description or "", sorted(permissions)
    db.session.add(role)
    db.session.flush()
    return role


# --- API tokens ---


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``; the plain token is returned once, only its hash kept."""
    if not (name or "").strip():
        raise ValidationFailed({"name": ["Name the token (what will use it)."]})
    plain = "tdm_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), prefix=plain[:10], token_hash=_digest(plain))
    db.session.add(token)
    db.session.flush()
    return token, plain


def revoke_token(token_id: int, owner: User | None = None) -> ApiToken:
    """Revoke a token (of ``owner`` when given); revoking twice is harmless."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def user_for_token(plain: str) -> User | None:
    """The active user behind a bearer token that is not revoked, or None.

    One query, the user's roles with it: every API call checks a permission next.
    """
    return db.session.scalars(
        sa.select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(plain), ApiToken.revoked_at.is_(None), User.active.is_(True))
        .options(sa.orm.joinedload(User.roles))).unique().one_or_none()


def tokens_of(user: User) -> list[ApiToken]:
    return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.id.desc())).all()
