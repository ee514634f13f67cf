"""``/api/v1/auth``: the current user, users, roles and API tokens."""
import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user

from core.api import ApiBlueprint, ListArgs, page_schema, paginate
from core.auth import services
from core.auth.models import Role, User
from core.auth.schemas import (NewTokenSchema, RoleSchema, TokenSchema, UserCreateSchema,
                               UserSchema, UserUpdateSchema)
from core.db import db
from core.permissions import login_required, requires

blp = ApiBlueprint("auth", __name__)


@blp.route("/me")
@login_required
@blp.response(200, UserSchema)
def me():
    """The user the token or session belongs to."""
    return current_user


@blp.route("/users")
@requires("auth.user.read")
@blp.arguments(ListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(UserSchema))
def list_users(args):
    """Users, searchable by name or email."""
    stmt = sa.select(User)
    if args.get("q"):
        like = f"%{args['q']}%"
        stmt = stmt.where(sa.or_(User.name.ilike(like), User.email.ilike(like)))
    return paginate(stmt, args, {"id": User.id, "name": User.name, "email": User.email}, "name")


@blp.route("/users", methods=["POST"])
@requires("auth.user.write")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(data):
    """Create a user with roles."""
    return services.create_user(**data)


@blp.route("/users/<int:user_id>")
@requires("auth.user.read")
@blp.response(200, UserSchema)
def get_user(user_id):
    return services.get_user(user_id)


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@requires("auth.user.write")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(data, user_id):
    """Rename, (de)activate or change the roles of a user."""
    return services.update_user(services.get_user(user_id), **data)


@blp.route("/roles")
@requires("auth.user.read")
@blp.response(200, RoleSchema(many=True))
def list_roles():
    return db.session.scalars(sa.select(Role).order_by(Role.name)).all()


@blp.route("/tokens")
@login_required
@blp.response(200, TokenSchema(many=True))
def list_tokens():
    """The current user's API tokens (never the secrets)."""
    return services.tokens_of(current_user)


@blp.route("/tokens", methods=["POST"])
@login_required
@blp.arguments(TokenSchema)
@blp.response(201, NewTokenSchema)
def create_token(data):
    """A new token for the current user; the response is the only time it is shown."""
    token, plain = services.create_token(current_user, data["name"])
    fields = ("id", "name", "prefix", "created_at", "revoked_at")
    return {**{name: getattr(token, name) for name in fields}, "token": plain}


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def revoke_token(token_id):
    """Revoke one of the current user's tokens."""
    services.revoke_token(token_id, owner=current_user)
