"""How the auth plugin plugs into the kernel."""
from core import hookimpl
from core.contrib import MenuItem, Permission


@hookimpl
def register_blueprints():
    from core.auth import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("auth.user.read", "See users and roles"),
        Permission("auth.user.write", "Create and edit users and roles"),
    ]


@hookimpl
def register_menu():
    return [MenuItem("Users", "auth.users", "auth.user.read", order=910, icon="users")]


@hookimpl
def register_cli_commands():
    from core.auth.cli import tokens, users

    return [users, tokens]
