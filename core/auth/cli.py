"""``tandem users`` and ``tandem tokens``."""
import click
from flask.cli import AppGroup

from core.auth import services
from core.db import transaction
from core.errors import TandemError


def _fail(exc: TandemError):
    detail = getattr(exc, "errors", None)
    raise click.ClickException(f"{exc.message}: {detail}" if detail else exc.message)


@click.group(cls=AppGroup, help="Manage users.")
def users():
    pass


@users.command("create", help="Create a user.")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", multiple=True, help="Role name (repeatable).")
def create_user(email, name, password, roles):
    try:
        with transaction():
            user = services.create_user(email, name, password, list(roles))
    except TandemError as exc:
        _fail(exc)
    click.echo(f"created user {user.email} (id {user.id})")


@users.command("set-password", help="Set a user's password.")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email, password):
    try:
        with transaction():
            user = services.user_by_email(email)
            if user is None:
                raise click.ClickException(f"no user {email}")
            services.set_password(user, password)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"password of {email} changed")


@click.group(cls=AppGroup, help="Manage API tokens.")
def tokens():
    pass


@tokens.command("create", help="Create an API token for a user; prints it once.")
@click.argument("email")
@click.option("--name", required=True, help="What will use the token.")
def create_token(email, name):
    try:
        with transaction():
            user = services.user_by_email(email)
            if user is None:
                raise click.ClickException(f"no user {email}")
            token, plain = services.create_token(user, name)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"token {token.id} ({token.name}) for {email}:\n{plain}")


@tokens.command("revoke", help="Revoke an API token by id.")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    try:
        with transaction():
            services.revoke_token(token_id)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"token {token_id} revoked")
