"""``tandem finance ...``: the ledger check and the billing run."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from core.db import transaction
from core.errors import TandemError
from core.registry import require_installed

finance_group = AppGroup("finance", help="Finance: verify the ledger, run billing schedules.")


@finance_group.command("verify-ledger")
def verify_ledger_command():
    """Recompute every journal's hash chain; exit 1 naming the first tampered entry."""
    require_installed("erp_finance")
    from plugins.erp_finance.ledger import verify_ledger

    with transaction():
        results = verify_ledger()
    broken = [r for r in results if not r.ok]
    for r in results:
        if r.ok:
            click.echo(f"{r.journal:<8} {r.entries:>6} entries  ok")
        else:
            click.secho(f"{r.journal:<8} TAMPERED at entry {r.entry_number} (id {r.entry_id}): "
                        f"{r.problem}" if r.entry_id else f"{r.journal:<8} TAMPERED: {r.problem}",
                        fg="red", err=True)
    if broken:
        raise SystemExit(1)
    click.echo("ledger intact")


@finance_group.command("run-schedules")
@click.option("--date", "run_date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Bill the periods started by this date (default today).")
def run_schedules_command(run_date):
    """Create the invoices of the billing schedules that are due (each period exactly once)."""
    require_installed("erp_finance")
    from plugins.erp_finance.schedules import run_billing_schedules

    try:
        with transaction():
            invoices = run_billing_schedules(run_date.date() if run_date else None)
            lines = [f"{inv.label}  {inv.customer.name}  {inv.amount_total} {inv.currency}"
                     for inv in invoices]
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} invoice(s) created")
