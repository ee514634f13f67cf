"""Input and output shapes of users, roles and tokens."""
import marshmallow as ma
from marshmallow import fields, validate

from core.api import UtcDateTime


class RoleSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    description = fields.String(load_default="", validate=validate.Length(max=255))
    permissions = fields.List(fields.String(), load_default=list)


class UserSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    active = fields.Boolean(dump_only=True)
    roles = fields.Method("role_names", dump_only=True)
    created_at = UtcDateTime(dump_only=True)

    def role_names(self, user):
        return [role.name for role in user.roles]


class UserCreateSchema(ma.Schema):
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8))
    roles = fields.List(fields.String(), load_default=list)


class UserUpdateSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    active = fields.Boolean()
    roles = fields.List(fields.String())


class TokenSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    prefix = fields.String(dump_only=True)
    created_at = UtcDateTime(dump_only=True)
    revoked_at = UtcDateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "Shown once; keep it safe"})


class LoginSchema(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=1))
    password = fields.String(required=True, validate=validate.Length(min=1))
    next = fields.String(load_default=None)
