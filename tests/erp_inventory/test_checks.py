"""The stock check finds documents and purchase orders booked more than once.

Each defect is planted the way a double validation leaves it: the moves are written
through the ledger, so every cached quantity still equals its moves and only the
comparison of documents and purchase orders with their moves can tell.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from core.db import db, transaction
from tests.conftest import ApiClient, load_demo_data, token_for


@dataclass
class World:
    """The ids of a small, consistent stock history."""

    product: int
    delivered: int  # a done delivery of 5
    partial: int  # a done delivery of 3 out of 5 (its backorder holds the other 2)
    ready: int  # a confirmed delivery, nothing moved yet
    transfer: int  # a done internal transfer of 2
    order: int  # a purchase order of 5, received in full
    order_line: int


def _history(app) -> World:
    """Receipts, deliveries (one in part), a transfer and a received purchase order, committed."""
    from plugins.erp_inventory import services

    with app.app_context(), transaction():
        wh = services.create_warehouse({"code": "WH1", "name": "Main"})
        shelf = services.create_location({"warehouse_id": wh.id, "name": "Shelf A"})
        product = services.create_product({"sku": "CHK-1", "name": "Checked", "cost": D("2.00")})
        receipt = services.create_document({"kind": "receipt", "warehouse_id": wh.id,
                                            "lines": [{"product_id": product.id, "quantity": 30}]})
        services.validate_document(receipt)
        delivered = services.validate_document(services.create_delivery(
            "SO-1", [{"product_id": product.id, "quantity": 5}], wh.id))
        partial = services.create_delivery("SO-2", [{"product_id": product.id, "quantity": 5}], wh.id)
        services.validate_document(partial, {partial.lines[0].id: 3})
        ready = services.create_delivery("SO-3", [{"product_id": product.id, "quantity": 1}], wh.id)
        transfer = services.create_document({"kind": "internal", "warehouse_id": wh.id,
                                             "destination_location_id": shelf.id,
                                             "lines": [{"product_id": product.id, "quantity": 2}]})
        services.validate_document(transfer)
        supplier = services.create_supplier({"name": "Acme"})
        order = services.create_purchase_order({"supplier_id": supplier.id, "warehouse_id": wh.id, "lines": [
            {"product_id": product.id, "quantity": 5, "unit_price": D("2.00")}]})
        services.confirm_purchase_order(order)
        services.receive_purchase_order(order)
        return World(product.id, delivered.id, partial.id, ready.id, transfer.id, order.id, order.lines[0].id)


def _book_again(document_id: int, quantity) -> None:
    """Write one more move of a document's product, as a second validation would."""
    from plugins.erp_inventory.models import StockDocument
    from plugins.erp_inventory.services import stock

    document = db.session.get(StockDocument, document_id)
    line = document.lines[0]
    stock.move(line.product, document.source_location, document.destination_location, D(quantity), None,
               document.id, document.reference)


def _receive_again(world: World, count_it: bool) -> None:
    """A second receipt of the whole purchase order, as a second concurrent receiving
    writes it; ``count_it``: its quantity was added to the line's received quantity too."""
    from plugins.erp_inventory import services
    from plugins.erp_inventory.models import PurchaseLine

    order = services.get_purchase_order(world.order)
    line = db.session.get(PurchaseLine, world.order_line)
    receipt = services.create_document({
        "kind": "receipt", "warehouse_id": order.warehouse_id, "reference": order.number,
        "purchase_order_id": order.id,
        "lines": [{"product_id": line.product_id, "quantity": line.quantity, "unit_cost": line.unit_price,
                   "purchase_line_id": line.id}]})
    services.validate_document(receipt)
    if count_it:
        line.received_quantity += line.quantity


def _double_delivery(world):
    _book_again(world.delivered, 5)  # a delivery of 5 that took 10


def _partial_booked_twice(world):
    _book_again(world.partial, 1)  # 3 of 5 done, 4 moved: within the lines, not what was done


def _transfer_booked_twice(world):
    _book_again(world.transfer, 2)


def _moved_while_ready(world):
    _book_again(world.ready, 1)


def _received_twice_and_counted(world):
    _receive_again(world, count_it=True)


def _received_twice_uncounted(world):
    _receive_again(world, count_it=False)


PLANTED = {
    "double delivery": (_double_delivery, "document_moves_exceed_lines", "delivered", "10.000", "5.000"),
    "partial delivery booked twice": (_partial_booked_twice, "document_moves_differ_done", "partial",
                                      "4.000", "3.000"),
    "transfer booked twice": (_transfer_booked_twice, "document_moves_exceed_lines", "transfer", "4.000", "2.000"),
    "moves on a ready delivery": (_moved_while_ready, "moves_on_open_document", "ready", "1.000", "0.000"),
    "purchase order received twice": (_received_twice_and_counted, "over_received", None, "10.000", "5.000"),
    "second receipt not counted": (_received_twice_uncounted, "receipt_moves_differ", None, "10.000", "5.000"),
}


@pytest.fixture
def world(inv_app) -> World:
    return _history(inv_app)


def test_a_clean_history_has_no_problem(inv_app, inv_api, world):
    from plugins.erp_inventory import services

    with inv_app.app_context():
        assert services.stock_problems() == []
        assert services.stock_check() == {"ok": True, "mismatches": [], "problems": []}
    body = inv_api.get("/api/v1/inventory/check").get_json()
    assert body == {"ok": True, "mismatches": [], "problems": []}
    result = inv_app.test_cli_runner().invoke(args=["inventory", "check"])
    assert result.exit_code == 0 and result.output.startswith("ok:"), result.output


@pytest.mark.parametrize("plant, kind, document, found, expected", PLANTED.values(), ids=PLANTED.keys())
def test_the_check_finds_a_planted_defect(inv_app, inv_api, world, plant, kind, document, found, expected):
    from plugins.erp_inventory import services
    from plugins.erp_inventory.models import PurchaseOrder, StockDocument

    with inv_app.app_context(), transaction():
        plant(world)
    with inv_app.app_context():
        assert services.quant_mismatches() == []  # the ledger and the quants still agree
        problems = services.stock_problems()
        assert [p["kind"] for p in problems] == [kind], problems
        problem = problems[0]
        assert (str(problem["found"]), str(problem["expected"])) == (found, expected)
        assert (problem["product_id"], problem["sku"]) == (world.product, "CHK-1")
        if document is None:
            order = db.session.get(PurchaseOrder, world.order)
            assert (problem["purchase_order_id"], problem["purchase_order"]) == (order.id, order.number)
            assert problem["document_id"] is None
        else:
            doc = db.session.get(StockDocument, getattr(world, document))
            assert (problem["document_id"], problem["document"]) == (doc.id, doc.number)
            assert problem["purchase_order_id"] is None
        message = problem["message"]
        assert "CHK-1" in message

    body = inv_api.get("/api/v1/inventory/check").get_json()
    assert body["ok"] is False and body["mismatches"] == []
    assert [(p["kind"], p["message"], p["found"], p["expected"]) for p in body["problems"]] == [
        (kind, message, found, expected)]

    result = inv_app.test_cli_runner().invoke(args=["inventory", "check"])
    assert result.exit_code != 0
    assert f"{kind}: {message}" in result.output
    assert "0 quantities and 1 documents or orders differ" in result.output


def test_every_finding_is_listed_next_to_the_quants_that_differ(inv_app, inv_api, world):
    import sqlalchemy as sa

    from plugins.erp_inventory import services
    from plugins.erp_inventory.models import Quant

    with inv_app.app_context(), transaction():
        for plant, *_ in PLANTED.values():
            plant(world)
        db.session.execute(sa.update(Quant).values(quantity=Quant.quantity + 1))
    kinds = sorted(kind for _, kind, *_ in PLANTED.values())
    with inv_app.app_context():
        assert sorted(p["kind"] for p in services.stock_problems()) == kinds
    body = inv_api.get("/api/v1/inventory/check").get_json()
    assert body["ok"] is False and body["mismatches"] and sorted(p["kind"] for p in body["problems"]) == kinds
    result = inv_app.test_cli_runner().invoke(args=["inventory", "check"])
    assert result.exit_code != 0
    assert all(f"{kind}: " in result.output for kind in kinds) and "cached" in result.output


def test_a_fresh_demo_has_no_problem(app):
    from plugins.erp_inventory import services

    load_demo_data(app)
    with app.app_context():
        check = services.stock_check()
        assert check["problems"] == [] and check["mismatches"] == [], check
    body = ApiClient(app.test_client(), token_for(app)).get("/api/v1/inventory/check").get_json()
    assert body["ok"] is True
