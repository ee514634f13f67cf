"""Reconciliation finds orders delivered or invoiced more than once and deals whose
status disagrees with their dates or their order: each defect is planted, then the
function, the API, the page and ``tandem bridge reconcile`` must report it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from tests.bridge.conftest import ok
from tests.conftest import load_demo_data, login

NEW_KINDS = {"over_delivered", "over_invoiced", "delivered_differs_from_moves", "deal_dates_disagree"}


def _won_order(flow):
    """A won deal for 3 of a stocked product, invoiced on order, its delivery ready."""
    flow.product("RC-1", "20.00", 10)
    deal_id, _ = flow.deal(company="Checked Co", email="a@checked.example",
                           lines=[{"product_ref": "RC-1", "quantity": "3"}])
    ok(flow.win(deal_id))
    order = ok(flow.api.get(f"/api/v1/bridge/deals/{deal_id}/status"))
    delivery = next(d for d in ok(flow.api.get("/api/v1/inventory/documents",
                                                query_string={"q": order["number"]}))["items"]
                    if d["reference"] == order["number"])
    return deal_id, order["number"], delivery["id"]


def _ship(flow, delivery_id):
    ok(flow.api.post(f"/api/v1/inventory/documents/{delivery_id}/validate", json={}))


def _line(number):
    from plugins.bridge.models import SalesOrder

    return db.session.scalar(sa.select(SalesOrder).where(SalesOrder.number == number)).lines[0]


def _move_again(delivery_id):
    """The delivery's moves written a second time, as a second validation does."""
    from plugins.erp_inventory.models import StockDocument
    from plugins.erp_inventory.services import stock

    document = db.session.get(StockDocument, delivery_id)
    for line in document.lines:
        stock.move(line.product, document.source_location, document.destination_location, line.quantity,
                   None, document.id, document.reference)


def _deal(deal_id):
    from plugins.crm.models import Deal

    return db.session.get(Deal, deal_id)


def _set_deal(deal_id, **values):
    """Write a deal's columns straight to its row, past the services that guard them."""
    from plugins.crm.models import Deal

    db.session.execute(sa.update(Deal).where(Deal.id == deal_id).values(**values))


def _stage(deal, won=False, lost=False):
    """The deal's pipeline stage that is won, lost, or (neither) the first open one."""
    return next(s for s in sorted(deal.pipeline.stages, key=lambda s: s.position)
                if s.is_won == won and s.is_lost == lost)


def _shipped_twice(deal_id, number, delivery_id):
    _move_again(delivery_id)  # 6 moved, the line still says 3 delivered


def _shipped_twice_and_counted(deal_id, number, delivery_id):
    _move_again(delivery_id)
    _line(number).delivered += D("3")  # 6 moved and recorded, 3 ordered


def _invoiced_twice(deal_id, number, delivery_id):
    _line(number).invoiced += D("3")


def _won_and_lost(deal_id, number, delivery_id):
    _set_deal(deal_id, lost_at=dt.datetime(2026, 1, 2))


def _won_without_date(deal_id, number, delivery_id):
    _set_deal(deal_id, won_at=None)


def _reopened(deal_id, number, delivery_id):
    _set_deal(deal_id, stage_id=_stage(_deal(deal_id)).id, won_at=None)  # open again, order and invoice stay


PLANTED = {
    "delivery validated twice": (_shipped_twice, "delivered_differs_from_moves", "order",
                                 "3.000 of RC-1 recorded as delivered but its deliveries moved 6.000"),
    "delivery validated and recorded twice": (_shipped_twice_and_counted, "over_delivered", "order",
                                              "6.000 delivered but 3.000 ordered"),
    "invoiced twice": (_invoiced_twice, "over_invoiced", "order", "6.000 invoiced but 3.000 ordered"),
    "won and lost": (_won_and_lost, "deal_dates_disagree", "deal", "is won but has a lost date"),
    "won without a date": (_won_without_date, "deal_dates_disagree", "deal", "is won but has no won date"),
    "open deal with its order": (_reopened, "order_without_won_deal", "order", "(done; posted invoices INV"),
}


def test_a_clean_story_has_no_drift(app, api, flow):
    from plugins.bridge.reconcile import reconcile

    deal_id, number, delivery_id = _won_order(flow)
    _ship(flow, delivery_id)
    lost, _ = flow.deal(company="Lost Co", email="a@lost.example", amount="10.00")
    ok(api.post(f"/api/v1/crm/deals/{lost}/lose", json={"reason": "Price"}))
    flow.deal(company="Open Co", email="a@open.example", amount="10.00")
    with app.app_context():
        assert reconcile() == []
        assert _line(number).delivered == D("3")
    assert ok(api.get("/api/v1/bridge/reconcile")) == []
    result = app.test_cli_runner().invoke(args=["bridge", "reconcile"])
    assert result.exit_code == 0 and "0 drift(s)" in result.output, result.output


@pytest.mark.parametrize("plant, kind, ref, words", PLANTED.values(), ids=PLANTED.keys())
def test_reconcile_finds_a_planted_defect(app, api, flow, plant, kind, ref, words):
    from plugins.bridge.reconcile import reconcile

    deal_id, number, delivery_id = _won_order(flow)
    _ship(flow, delivery_id)
    assert ok(api.get("/api/v1/bridge/reconcile")) == []
    with app.app_context(), transaction():
        plant(deal_id, number, delivery_id)
    expected_ref = number if ref == "order" else f"deal:{deal_id}"

    with app.app_context():
        found = reconcile()
    assert [(d["kind"], d["ref"], d["fixable"], d["fixed"]) for d in found] == [(kind, expected_ref, False, False)]
    reason = found[0]["reason"]
    assert words in reason, reason

    assert ok(api.get("/api/v1/bridge/reconcile")) == found
    assert ok(api.post("/api/v1/bridge/reconcile", json={"fix": True})) == found  # nothing is repaired
    assert ok(api.get("/api/v1/bridge/health"))["drift"] == 1
    page = login(app.test_client()).get("/bridge/reconcile").get_data(as_text=True)
    assert kind in page and expected_ref in page

    result = app.test_cli_runner().invoke(args=["bridge", "reconcile"])
    assert result.exit_code == 1
    assert f"[manual] {kind} {expected_ref}: {reason}" in result.output


@pytest.mark.parametrize("status", ["lost", "open"])
def test_a_deal_that_is_not_won_has_no_won_date(app, api, flow, status):
    from plugins.bridge.reconcile import reconcile

    deal_id, _ = flow.deal(company="Dated Co", email="a@dated.example", amount="10.00")
    if status == "lost":
        ok(api.post(f"/api/v1/crm/deals/{deal_id}/lose", json={"reason": "Price"}))
    with app.app_context(), transaction():
        _set_deal(deal_id, won_at=dt.datetime(2026, 1, 2))
    with app.app_context():
        found = reconcile()
    assert [(d["kind"], d["ref"]) for d in found] == [("deal_dates_disagree", f"deal:{deal_id}")]
    assert f"is {status} but has a won date" in found[0]["reason"]


def test_a_lost_deal_without_its_date_and_with_an_order(app, api, flow):
    from plugins.bridge.reconcile import reconcile

    deal_id, number, _ = _won_order(flow)
    with app.app_context(), transaction():
        _set_deal(deal_id, stage_id=_stage(_deal(deal_id), lost=True).id)
    with app.app_context():
        found = {d["kind"]: d for d in reconcile()}
    assert set(found) == {"deal_dates_disagree", "order_without_won_deal"}
    assert "is lost but has a won date and no lost date" in found["deal_dates_disagree"]["reason"]
    assert found["order_without_won_deal"]["ref"] == number
    assert "which is lost" in found["order_without_won_deal"]["reason"]


def test_moves_of_a_product_the_order_does_not_have_are_found(app, flow):
    """A delivery of the order's reference that ships a product none of its lines has."""
    from plugins.bridge.reconcile import reconcile
    from plugins.erp_inventory import services as inventory

    _deal_id, number, _delivery = _won_order(flow)
    other = flow.product("RC-2", "5.00", 4)
    with app.app_context(), transaction():
        extra = inventory.create_document({"kind": "delivery", "reference": number,
                                           "lines": [{"product_id": other["id"], "quantity": 1}]})
        inventory.validate_document(extra)
    with app.app_context():
        found = reconcile()
    assert [(d["kind"], d["ref"]) for d in found] == [("delivered_differs_from_moves", number)]
    assert "0.000 of RC-2 recorded as delivered but its deliveries moved 1.000" in found[0]["reason"]


def test_a_fresh_demo_has_none_of_these_drifts(app):
    from plugins.bridge.reconcile import reconcile

    load_demo_data(app)
    with app.app_context():
        found = [d for d in reconcile() if d["kind"] in NEW_KINDS | {"order_without_won_deal"}]
    assert found == []
