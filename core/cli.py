"""The ``tandem`` command (Flask's click integration; plugins add commands by hook)."""
from __future__ import annotations

import contextlib
import itertools
import secrets
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from werkzeug.serving import run_simple

from core import lifecycle, migrate
from core.auth import services as auth
from core.db import db, transaction
from core.demo import load_demo
from core.errors import TandemError
from core.registry import current_registry

ADMIN_EMAIL = "admin@example.com"


def _create_app(*_args, **_kwargs):
    from core import create_app

    return create_app()


def _fail(exc: TandemError):
    raise click.ClickException(exc.message)


def init_database(admin_email: str = ADMIN_EMAIL, admin_password: str | None = None) -> str | None:
    """Create the schema and the Administrator role; create the admin user when there is none.

    Returns the generated password when a new admin was created with none given.
    """
    with transaction():
        lifecycle.initialize()
        auth.ensure_role(auth.ADMIN_ROLE, "Every permission", ["*"])
    if auth.user_by_email(admin_email) is not None:
        return None
    password = admin_password or secrets.token_urlsafe(9)
    with transaction():
        auth.create_user(admin_email, "Administrator", password, [auth.ADMIN_ROLE])
    return password


def _print_login(email: str, password: str | None) -> None:
    if password:
        click.secho(f"Admin login: {email} / {password}", fg="green", bold=True)
    else:
        click.echo(f"Admin login: {email} (password set earlier; change it with "
                   f"'tandem users set-password {email}')")


@click.command("init", help="Create the database and an admin user.")
@click.option("--email", default=ADMIN_EMAIL, show_default=True)
@click.option("--password", default=None, help="Admin password (generated when omitted).")
@with_appcontext
def init_command(email, password):
    generated = init_database(email, password)
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")
    _print_login(email, password or generated)


@contextlib.contextmanager
def _progress_for(name):
    # plugins do not know their total up front: an open-ended bar counting records
    with click.progressbar(itertools.repeat(None), label=f"demo data: {name}", show_pos=True,
                           file=sys.stderr) as bar:
        yield bar.update


def load_demo_with_progress(force: bool = False) -> list[str]:
    return load_demo(_progress_for, force=force)


@click.command("demo", help="Load demo data for the installed modules that have none yet.")
@click.option("--force", is_flag=True, help="Load again even where demo data was loaded.")
@with_appcontext
def demo_command(force):
    try:
        done = load_demo_with_progress(force)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"demo data loaded for: {', '.join(done)}" if done else "nothing to load")


@click.command("run", help="Run the development server (creates the database if there is none).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--demo", is_flag=True,
              help="Also install every module and load demo data where there is none.")
@click.option("--debug/--no-debug", default=False)
@with_appcontext
def run_command(host, port, demo, debug):
    app = current_app._get_current_object()
    password = init_database()  # a fresh database is created; an existing one is left as it is
    if demo:
        with transaction():
            for info in current_registry().healthy():
                if not current_registry().is_installed(info.name):
                    lifecycle.install(info.name)
        load_demo_with_progress()
    _print_login(ADMIN_EMAIL, password)
    click.echo(f"Tandem at http://{host}:{port}/  (Ctrl+C to stop)")
    run_simple(host, port, app, use_reloader=False, use_debugger=debug, threaded=True)


@click.group("modules", help="List, install and uninstall modules.")
def modules_group():
    pass


@modules_group.command("list")
@with_appcontext
def modules_list():
    for s in lifecycle.statuses():
        deps = f" (needs {', '.join(s.depends)})" if s.depends else ""
        click.echo(f"{s.name:<16} {s.version:<8} {s.state:<24} {s.summary}{deps}")
        if s.error:
            click.secho(f"{'':<16} error: {s.error}", fg="red")


@modules_group.command("install")
@click.argument("names", nargs=-1, required=True)
@with_appcontext
def modules_install(names):
    try:
        with transaction():
            done = [n for name in names for n in lifecycle.install(name)]
    except TandemError as exc:
        _fail(exc)
    click.echo(f"installed: {', '.join(done)}" if done else "already installed")


@modules_group.command("uninstall")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also drop the module's tables (data lost).")
@click.option("--yes", is_flag=True, help="Do not ask to confirm --purge.")
@with_appcontext
def modules_uninstall(name, purge, yes):
    if purge and not yes:
        click.confirm(f"Delete every record of {name}?", abort=True)
    try:
        with transaction():
            lifecycle.uninstall(name, purge=purge)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"uninstalled {name}" + (" and dropped its tables" if purge else " (data kept)"))


@click.group("db", help="Database schema.")
def db_group():
    pass


@db_group.command("upgrade", help="Migrate the kernel and every installed module to head.")
@with_appcontext
def db_upgrade():
    with transaction():
        changed = lifecycle.upgrade_all()
    click.echo(f"upgraded: {', '.join(changed)}" if changed else "everything is at head")


@db_group.command("revision", help="Write a migration for a module from its models.")
@click.argument("module")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(module, message):
    registry = current_registry()
    registry.sync(db.session)  # which plugins are installed decides the branches compared
    info = registry.get(module)
    with transaction():
        path = migrate.revision(registry, info, message)
    click.echo(f"wrote {path}")


@click.command("hooks-doc", help="Write docs/hooks.md, the hook reference, from the hookspecs.")
@click.option("--output", default="docs/hooks.md", show_default=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only check that the file is up to date.")
@with_appcontext
def hooks_doc_command(output, check):
    from pathlib import Path

    from core.hookdocs import hook_reference

    text = hook_reference(current_registry())
    path = Path(output)
    if check:
        if not path.exists() or path.read_text() != text:
            raise click.ClickException(f"{output} is out of date: run 'tandem hooks-doc'")
        click.echo(f"{output} is up to date")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    click.echo(f"wrote {output}")


@click.command("backup", help="Copy the whole database to FILE (safe while Tandem runs).")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(file):
    from core.backup import backup

    try:
        path = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], file)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"backup written to {path}")


@click.command("restore", help="Load a backup FILE into the (empty) database of DATABASE_URL.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace what the database holds.")
@with_appcontext
def restore_command(file, force):
    from core.backup import restore

    db.session.remove()
    db.engine.dispose()  # no connection of ours may hold the database while it is replaced
    try:
        restore(file, current_app.config["SQLALCHEMY_DATABASE_URI"], force=force)
    except TandemError as exc:
        _fail(exc)
    click.echo(f"restored {file}")


@click.command("import", help="Import records of RECORD_TYPE (e.g. crm.account) from a CSV FILE.")
@click.argument("record_type")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--map", "mapping", default="", help="Header renames: 'Company=name,Web=domain'.")
@click.option("--skip-bad-rows", is_flag=True, help="Keep the good rows (default: all or nothing).")
@with_appcontext
def import_command(record_type, file, mapping, skip_bad_rows):
    from core.csvio import ImportRejected
    from core.records import RECORD_TYPES, import_records, parse_mapping

    registry = current_registry()
    registry.sync(db.session)
    found = [rt for rt in RECORD_TYPES if rt.key == record_type and rt.plugin in registry.installed_prefixes]
    if not found:
        known = sorted({rt.key for rt in RECORD_TYPES if rt.plugin in registry.installed_prefixes})
        raise click.ClickException(f"unknown record type {record_type!r}; one of: {', '.join(known)}")
    text = file.read()
    rows = max(text.count("\n") - 1, 0)
    try:
        with transaction(), click.progressbar(length=rows, label=f"importing {record_type}",
                                              file=sys.stderr) as bar:
            report = import_records(found[0], text, parse_mapping(mapping),
                                    all_or_nothing=not skip_bad_rows, progress=bar.update)
    except ImportRejected as exc:
        for error in exc.report.errors:
            click.echo(f"line {error.line}: {error.errors}", err=True)
        raise click.ClickException(exc.message)
    for error in report.errors:
        click.echo(f"skipped line {error.line}: {error.errors}", err=True)
    click.echo(f"imported {report.created} of {report.total} rows")


@click.group("plugin", help="Tools for plugin authors.")
def plugin_group():
    pass


@plugin_group.command("new", help="Generate a pip-installable plugin package NAME.")
@click.argument("name")
@click.option("--path", default=".", show_default=True, type=click.Path(file_okay=False))
@with_appcontext
def plugin_new(name, path):
    from core.scaffold import new_plugin

    registry = current_registry()
    heads = sorted(migrate.branch_heads(registry, migrate.CORE_BRANCH))
    try:
        root = new_plugin(name, path, heads, set(registry.plugins))
    except TandemError as exc:
        raise click.ClickException("; ".join(m for msgs in exc.errors.values() for m in msgs))
    click.echo(f"created {root}\nnext: pip install -e {root} && tandem modules install {name}")


#: Added to every app's ``app.cli`` by ``create_app`` (plugins add theirs by hook).
def _worker_command():
    from core.worker import worker_command

    return worker_command


KERNEL_COMMANDS = (init_command, run_command, demo_command, modules_group, db_group,
                   hooks_doc_command, backup_command, restore_command, plugin_group, import_command,
                   _worker_command())


class TandemGroup(FlaskGroup):
    """``tandem``: Flask's command group bound to ``create_app``, without Flask's own ``run``."""

    def __init__(self, **kwargs):
        super().__init__(create_app=_create_app, add_default_commands=False,
                         add_version_option=False, load_dotenv=False, **kwargs)
        self.add_command(shell_command)
        self.add_command(routes_command)


main = TandemGroup(help="Tandem: a modular CRM + ERP suite.")
