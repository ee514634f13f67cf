"""``tandem bridge reconcile [--fix]``."""
import click
from flask.cli import AppGroup

from core.db import transaction

group = AppGroup("bridge", help="The CRM-ERP bridge.")


@group.command("reconcile")
@click.option("--fix", is_flag=True, help="Repair the drift that is safe to repair.")
def reconcile_command(fix):
    """List every drift between CRM and the ERP side (exit status 1 when some is left)."""
    from plugins.bridge.reconcile import reconcile

    with transaction():
        found = reconcile(fix=fix)
    for drift in found:
        mark = "fixed" if drift["fixed"] else ("fixable" if drift["fixable"] else "manual")
        click.echo(f"[{mark}] {drift['kind']} {drift['ref']}: {drift['reason']}")
    left = [d for d in found if not d["fixed"]]
    click.echo(f"{len(found)} drift(s), {len(found) - len(left)} fixed.")
    if left:
        raise SystemExit(1)
