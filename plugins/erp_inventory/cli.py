"""``tandem inventory ...``: check quantities, replenish, import and export CSV."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.csvio import ImportRejected
from core.db import transaction
from core.errors import TandemError
from core.registry import require_installed


@click.group("inventory", help="Inventory: stock check, replenishment, CSV import and export.")
def inventory_group():
    pass


@inventory_group.command("check", help="Prove every cached quantity equals the sum of its moves, and every "
                                         "document and purchase order moved what its lines say.")
@with_appcontext
def check_command():
    """Print every quantity and document that disagrees with its moves; fail when there is one."""
    from plugins.erp_inventory import services

    require_installed("erp_inventory")
    result = services.stock_check()
    for p in result["mismatches"]:
        click.secho(f"product {p['product_id']} location {p['location_id']}: "
                    f"cached {p['quant']} but moves sum to {p['moves']}", fg="red")
    for p in result["problems"]:
        click.secho(f"{p['kind']}: {p['message']}", fg="red")
    if not result["ok"]:
        raise click.ClickException(f"{len(result['mismatches'])} quantities and {len(result['problems'])} "
                                   f"documents or orders differ from their moves")
    click.echo("ok: every quantity equals the sum of its moves and every document moved what its lines say")


@inventory_group.command("replenish", help="Check reorder rules; propose purchase orders.")
@with_appcontext
def replenish_command():
    from plugins.erp_inventory import services

    require_installed("erp_inventory")
    with transaction():
        orders = services.replenish()
        names = [f"{o.number} ({o.supplier.name}, {len(o.lines)} lines)" for o in orders]
    click.echo("proposed: " + ", ".join(names) if names else "nothing to order")


def _import(kind: str, path) -> None:
    from plugins.erp_inventory import transfer

    require_installed("erp_inventory")
    text = path.read()
    rows = max(text.count("\n") - 1, 0)
    run = transfer.import_products if kind == "products" else transfer.import_stock
    try:
        with click.progressbar(length=rows, label=f"importing {kind}", show_pos=True,
                               file=click.get_text_stream("stderr")) as bar, transaction():
            report = run(text, progress=bar.update)
    except ImportRejected as exc:
        for error in exc.report.errors:
            click.secho(f"line {error.line}: {error.errors}", fg="red")
        raise click.ClickException(exc.message)
    except TandemError as exc:
        raise click.ClickException(exc.message)
    if report.unknown_columns:
        click.echo(f"ignored columns: {', '.join(report.unknown_columns)}")
    click.echo(f"imported {report.created} of {report.total} rows")


@inventory_group.command("import-products", help="Import products from a CSV file (all or nothing).")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def import_products_command(path):
    _import("products", path)


@inventory_group.command("import-stock", help="Import initial stock levels (sku, warehouse, quantity, unit_cost).")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def import_stock_command(path):
    _import("stock", path)


@inventory_group.command("export", help="Export products or stock levels as formula-safe CSV.")
@click.argument("what", type=click.Choice(["products", "stock"]))
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def export_command(what, output):
    from plugins.erp_inventory import transfer

    require_installed("erp_inventory")
    output.write(transfer.products_csv() if what == "products" else transfer.stock_csv())
