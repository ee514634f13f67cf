"""Suppliers, reorder rules, purchase orders and receiving."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from core.errors import RuleViolation, ValidationFailed
from tests.erp_inventory.conftest import events


@pytest.fixture
def bought(shop):
    p = shop.product()
    supplier = shop.s.create_supplier({"name": "Acme Supply", "lead_time_days": 5})
    cheap = shop.s.create_supplier({"name": "Cheap Co"})
    shop.s.create_supplier_price({"supplier_id": supplier.id, "product_id": p.id, "price": D("4.00"),
                                  "min_quantity": D("10"), "preferred": True})
    shop.s.create_supplier_price({"supplier_id": cheap.id, "product_id": p.id, "price": D("3.00")})
    shop.s.create_reorder_rule({"product_id": p.id, "warehouse_id": shop.wh.id, "minimum": 5, "maximum": 20})
    return p, supplier


def test_falling_below_the_minimum_emits_stock_low_and_proposes_a_purchase(shop, bought):
    p, supplier = bought
    shop.receive(p, 8)
    shop.deliver(p, 4)  # available 4 < 5
    low = events("on_stock_low")
    assert len(low) == 1 and low[0]["available"] == "4.000"
    order = shop.s.get_purchase_order(low[0]["purchase_order_id"])
    assert (order.state, order.supplier_id) == ("draft", supplier.id)
    assert order.lines[0].quantity == D("16.000") and order.lines[0].unit_price == D("4.00")
    shop.s.reserve_stock("SO-2", p.id, 2)  # still below: the proposal grows, no second alert
    assert order.lines[0].quantity == D("18.000") and len(events("on_stock_low")) == 1
    assert shop.s.replenish() == [order]
    assert len(order.lines) == 1


def test_proposal_respects_minimum_quantity_and_incoming(shop, bought):
    p, _ = bought
    shop.receive(p, 19)
    shop.deliver(p, 15)  # available 4, need 16
    order = shop.s.get_purchase_order(events("on_stock_low")[0]["purchase_order_id"])
    shop.s.confirm_purchase_order(order)
    assert shop.s.incoming(p.id) == D("16.000")
    shop.s.reserve_stock("SO-3", p.id, 1)  # available 3, incoming covers up to 19: 1 more, min qty 10
    draft = [o for o in shop.s.replenish()][0]
    assert draft.id != order.id and draft.lines[0].quantity == D("10.000")


def test_purchase_order_receiving_creates_receipts_and_updates_states(shop, bought):
    p, supplier = bought
    order = shop.s.create_purchase_order({"supplier_id": supplier.id, "warehouse_id": shop.wh.id,
                                          "lines": [{"product_id": p.id, "quantity": 10}]})
    assert order.lines[0].unit_price == D("4.00")
    with pytest.raises(RuleViolation):
        shop.s.receive_purchase_order(order)  # draft
    shop.s.confirm_purchase_order(order)
    line = order.lines[0]
    with pytest.raises(ValidationFailed):
        shop.s.receive_purchase_order(order, {line.id: 11})
    receipt = shop.s.receive_purchase_order(order, {line.id: 4})
    assert order.state == "partially_received" and receipt.state == "done"
    assert receipt.purchase_order_id == order.id and shop.s.on_hand(p.id) == D("4.000")
    assert p.cost == D("4.00")
    shop.s.receive_purchase_order(order)
    assert order.state == "received" and shop.s.incoming(p.id) == 0
    assert [e["purchase_order_id"] for e in events("on_goods_received")] == [order.id, order.id]
    with pytest.raises(RuleViolation):
        shop.s.cancel_purchase_order(order)


def test_reorder_rule_and_supplier_price_validation(shop, bought):
    p, supplier = bought
    with pytest.raises(ValidationFailed):
        shop.s.create_reorder_rule({"product_id": p.id, "warehouse_id": shop.wh.id, "minimum": 1, "maximum": 2})
    other = shop.product()
    with pytest.raises(ValidationFailed):
        shop.s.create_reorder_rule({"product_id": other.id, "warehouse_id": shop.wh.id, "minimum": 5, "maximum": 2})
    with pytest.raises(ValidationFailed):
        shop.s.create_supplier_price({"supplier_id": supplier.id, "product_id": p.id, "price": 1})
    assert shop.s.preferred_price(p.id).supplier_id == supplier.id


def test_the_dashboard_charts_products_below_their_reorder_point(shop, bought, inv_app):
    from flask import render_template

    from plugins.erp_inventory.hooks import _below_reorder

    p, _ = bought
    shop.receive(p, 3)  # available 3 < minimum 5
    with inv_app.test_request_context():
        html = render_template("erp_inventory/widget_below.html", ctx=_below_reorder())
    assert 'data-chart="' in html and "Reorder point" in html
    assert f">{p.sku}</a>" in html and "All 1 products below" in html
