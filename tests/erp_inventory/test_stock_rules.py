"""Stock rules: moves, on-hand, reservations, backorders, negative stock, documents, costing."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from core.errors import RuleViolation, ValidationFailed
from tests.erp_inventory.conftest import events


def test_receipt_adds_stock_through_moves_and_the_check_agrees(shop):
    p = shop.product()
    shop.receive(p, 10, D("4.00"))
    assert shop.s.on_hand(p.id, shop.wh.id) == D("10.000")
    assert shop.s.quant_mismatches() == []
    assert events("on_goods_received")[0]["lines"][0]["quantity"] == "10.000"


def test_check_finds_a_quant_that_disagrees_with_its_moves(shop):
    import sqlalchemy as sa

    from core.db import db
    from plugins.erp_inventory.models import Quant

    p = shop.product()
    shop.receive(p, 5)
    db.session.execute(sa.update(Quant).values(quantity=Quant.quantity + 1))
    assert len(shop.s.quant_mismatches()) == 2  # the stock location and the supplier location


def test_moving_average_cost_is_updated_by_receipts(shop):
    p = shop.product()
    shop.receive(p, 10, D("10"))
    shop.receive(p, 10, D("20"))
    assert p.cost == D("15.00")
    shop.deliver(p, 5)
    shop.receive(p, 5, D("30"))  # (15 x 15 + 5 x 30) / 20
    assert p.cost == D("18.75")


def test_reserving_more_than_available_is_refused(shop):
    p = shop.product()
    shop.receive(p, 3)
    shop.s.reserve_stock("SO-1", p.id, 2)
    with pytest.raises(RuleViolation) as exc:
        shop.s.reserve_stock("SO-2", p.id, 2)
    assert exc.value.code == "insufficient_stock" and exc.value.status == 409
    assert shop.s.available(p.id) == D("1.000")


def test_backorders_record_the_shortfall_and_receipts_fill_it(shop):
    p = shop.product()
    shop.receive(p, 3)
    shop.s.update_settings({"allow_backorders": True})
    reservation = shop.s.reserve_stock("SO-1", p.id, 5)
    assert (reservation.quantity, reservation.backorder_quantity) == (D("3.000"), D("2.000"))
    shop.receive(p, 10)
    assert (reservation.quantity, reservation.backorder_quantity) == (D("5.000"), D("0.000"))
    assert shop.s.available(p.id) == D("8.000")


def test_delivery_consumes_its_reservation_and_emits_delivery_done(shop):
    p = shop.product()
    shop.receive(p, 10)
    doc = shop.deliver(p, 4, "SO-9")
    assert doc.state == "done"
    assert shop.s.on_hand(p.id) == D("6.000") and shop.s.reserved(p.id) == 0
    payload = events("on_delivery_done")[0]
    assert payload["reference"] == "SO-9" and payload["backorder_id"] is None
    status = shop.s.delivery_status("SO-9")
    assert (status.state, status.delivered) == ("delivered", D("4.000"))
    assert shop.s.delivery_status("nothing") is None


def test_partial_delivery_leaves_a_backorder_holding_the_rest(shop):
    p = shop.product()
    shop.receive(p, 10)
    doc = shop.deliver(p, 8, "SO-7", done=5)
    assert doc.lines[0].done_quantity == D("5.000")
    status = shop.s.delivery_status("SO-7")
    assert status.state == "partially_delivered"
    backorder = [d for d in status.documents if d["state"] == "ready"][0]
    assert shop.s.reserved(p.id) == D("3.000")
    assert events("on_delivery_done")[0]["backorder_id"] == backorder["id"]
    shop.s.validate_document(shop.s.get_document(backorder["id"]))
    assert shop.s.delivery_status("SO-7").state == "delivered"
    assert shop.s.on_hand(p.id) == D("2.000") and shop.s.reserved(p.id) == 0


def test_cancelling_a_delivery_releases_its_reservation(shop):
    p = shop.product()
    shop.receive(p, 10)
    doc = shop.s.create_delivery("SO-3", [{"sku": p.sku, "quantity": 4}], shop.wh.id)
    assert shop.s.reserved(p.id) == D("4.000")
    shop.s.cancel_document(doc)
    assert shop.s.reserved(p.id) == 0
    assert shop.s.delivery_status("SO-3").state == "cancelled"
    with pytest.raises(RuleViolation):
        shop.s.validate_document(doc)


def test_release_reservation(shop):
    p = shop.product()
    shop.receive(p, 10)
    shop.s.reserve_stock("SO-1", p.id, 6)
    shop.s.release_reservation("SO-1", p.id, 2)
    assert shop.s.reserved(p.id) == D("4.000")
    shop.s.release_reservation("SO-1")
    assert shop.s.reserved(p.id) == 0
    with pytest.raises(Exception) as exc:
        shop.s.release_reservation("SO-1")
    assert exc.value.status == 404


def test_stock_never_goes_negative_unless_the_warehouse_allows_it(shop):
    p = shop.product()
    shop.receive(p, 2)
    shelf = shop.s.create_location({"warehouse_id": shop.wh.id, "name": "Shelf A"})
    move = shop.s.create_document({"kind": "internal", "warehouse_id": shop.wh.id,
                                   "destination_location_id": shelf.id,
                                   "lines": [{"product_id": p.id, "quantity": 3}]})
    with pytest.raises(RuleViolation) as exc:
        shop.s.validate_document(move)
    assert exc.value.code == "negative_stock"
    shop.s.update_warehouse(shop.wh, {"allow_negative_stock": True})
    shop.s.validate_document(move)
    assert shop.s.on_hand(p.id, shop.wh.id) == D("2.000")  # within the warehouse
    assert shop.s.stock.location_quantity(p.id, shop.s.stock_location(shop.wh.id).id) == D("-1.000")


def test_transfer_between_warehouses_cannot_take_reserved_stock(shop):
    p = shop.product()
    other = shop.s.create_warehouse({"code": "WH2", "name": "Second"})
    shop.receive(p, 5)
    shop.s.reserve_stock("SO-1", p.id, 4)
    move = shop.s.create_document({"kind": "internal", "warehouse_id": shop.wh.id,
                                   "destination_location_id": shop.s.stock_location(other.id).id,
                                   "lines": [{"product_id": p.id, "quantity": 2}]})
    with pytest.raises(RuleViolation) as exc:
        shop.s.validate_document(move)
    assert exc.value.code == "insufficient_stock"
    shop.s.validate_document(move, {move.lines[0].id: 1})
    assert shop.s.on_hand(p.id, other.id) == D("1.000")


def test_adjustment_sets_the_count_and_reservations_give_way(shop):
    p = shop.product()
    shop.receive(p, 10)
    shop.s.reserve_stock("SO-1", p.id, 8)
    count = shop.s.create_document({"kind": "adjustment", "warehouse_id": shop.wh.id,
                                    "lines": [{"product_id": p.id, "quantity": 6}]})
    shop.s.validate_document(count)
    assert shop.s.on_hand(p.id) == D("6.000")
    assert shop.s.reserved(p.id) == D("6.000")  # 2 became a backorder
    assert shop.s.quant_mismatches() == []


def test_document_states_and_line_rules(shop):
    p = shop.product()
    doc = shop.s.create_document({"kind": "receipt", "warehouse_id": shop.wh.id})
    with pytest.raises(RuleViolation):
        shop.s.confirm_document(doc)  # no lines
    line = shop.s.add_line(doc, {"product_id": p.id, "quantity": 2})
    with pytest.raises(ValidationFailed):
        shop.s.validate_document(doc, {line.id: 3})  # more than asked
    shop.s.validate_document(doc)
    with pytest.raises(RuleViolation):
        shop.s.add_line(doc, {"product_id": p.id, "quantity": 1})
    service = shop.product(type="service")
    other = shop.s.create_document({"kind": "receipt", "warehouse_id": shop.wh.id})
    with pytest.raises(ValidationFailed):
        shop.s.add_line(other, {"product_id": service.id, "quantity": 1})


def test_availability_per_warehouse(shop):
    p = shop.product()
    other = shop.s.create_warehouse({"code": "WH2", "name": "Second"})
    shop.receive(p, 10)
    shop.receive(p, 4, warehouse=other)
    shop.s.reserve_stock("SO-1", p.id, 3)
    a = shop.s.availability(p.id)
    assert (a.on_hand, a.reserved, a.available) == (D("14.000"), D("3.000"), D("11.000"))
    by_code = {w.warehouse_code: w for w in a.warehouses}
    assert by_code["WH1"].available == D("7.000") and by_code["WH2"].on_hand == D("4.000")


def test_search_catalog_still_finds_products_by_name_or_sku(shop):
    p = shop.product(name="Blue widget")
    assert [x.id for x in shop.s.search_catalog("widget")] == [p.id]
    assert [x.id for x in shop.s.search_catalog(p.sku.lower())] == [p.id]
