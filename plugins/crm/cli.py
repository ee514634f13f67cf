"""``tandem crm ...``: automation, CSV import and export."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from core.db import transaction
from core.errors import TandemError

crm_group = AppGroup("crm", help="CRM: automation rules, CSV import and export.")


@crm_group.command("automate", help="Apply the automation rules once (run it from cron).")
def automate():
    from core.registry import require_installed
    from plugins.crm.work import run_automation

    try:
        require_installed("crm")
        with transaction():
            result = run_automation()
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"follow-up tasks created: {result['tasks_created']}; "
               f"leads assigned: {result['leads_assigned']}")


@crm_group.command("import", help="Import accounts, contacts or leads from a CSV file.")
@click.argument("kind", type=click.Choice(["accounts", "contacts", "leads"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "mapping", default="", help="Header renames: 'Company=name,E-mail=email'.")
@click.option("--keep-good", is_flag=True, help="Import the good rows even when some are bad.")
def import_command(kind, path, mapping, keep_good):
    from core.csvio import ImportRejected
    from core.registry import require_installed
    from plugins.crm.transfer import import_records, parse_mapping

    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    rows = max(text.count("\n") - 1, 1)
    try:
        require_installed("crm")
        with click.progressbar(length=rows, label=f"importing {kind}",
                               file=click.get_text_stream("stderr")) as bar, transaction():
            report = import_records(kind, text, parse_mapping(mapping), not keep_good, bar.update)
    except ImportRejected as exc:
        for error in exc.report.errors:
            click.echo(f"line {error.line}: {error.errors}", err=True)
        raise click.ClickException(exc.message) from exc
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    for error in report.errors:
        click.echo(f"line {error.line}: {error.errors}", err=True)
    click.echo(f"{report.created} of {report.total} {kind} imported")


@crm_group.command("export", help="Write accounts, contacts or leads as CSV to standard output.")
@click.argument("kind", type=click.Choice(["accounts", "contacts", "leads"]))
def export_command(kind):
    from plugins.crm.transfer import export_csv

    click.echo(export_csv(kind), nl=False)
