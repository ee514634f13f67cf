"""Many threads reserving the last units; random operations keep the stock ledger consistent."""
from __future__ import annotations

import threading
from decimal import Decimal as D

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.db import db, transaction
from core.errors import RuleViolation, TandemError


def test_many_threads_reserving_the_last_units_never_oversell(inv_app):
    with inv_app.app_context(), transaction():
        from plugins.erp_inventory import services as s

        wh = s.create_warehouse({"code": "WH1", "name": "Main"})
        p = s.create_product({"sku": "LAST", "name": "Last units"})
        s.validate_document(s.create_document({"kind": "receipt", "warehouse_id": wh.id,
                                               "lines": [{"product_id": p.id, "quantity": 5}]}))
        product_id, warehouse_id = p.id, wh.id
    outcomes, start = [], threading.Barrier(16)

    def reserve(i):
        with inv_app.app_context():
            from plugins.erp_inventory import services as s

            start.wait()
            try:
                with transaction():
                    s.reserve_stock(f"SO-{i}", product_id, 1, warehouse_id)
                outcomes.append("ok")
            except RuleViolation as exc:
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 5 and outcomes.count("insufficient_stock") == 11, outcomes
    with inv_app.app_context():
        from plugins.erp_inventory import services as s

        assert s.reserved(product_id) == D("5.000") and s.available(product_id) == 0


QTY = st.integers(min_value=1, max_value=12)


class StockMachine(RuleBasedStateMachine):
    """Receipts, reservations, deliveries, transfers and adjustments in any order."""

    app = None

    def __init__(self):
        super().__init__()
        from plugins.erp_inventory import services

        self.ctx = self.app.app_context()
        self.ctx.push()
        self.s = services
        self.s.update_settings({"allow_backorders": False})
        self.wh = [services.create_warehouse({"code": f"W{i}", "name": f"W{i}"}) for i in (1, 2)]
        self.products = [services.create_product({"sku": f"H-{i}", "name": f"H {i}"}) for i in range(2)]
        self.refs = 0

    def teardown(self):
        db.session.rollback()
        self.ctx.pop()

    def _try(self, action):
        try:
            with db.session.begin_nested():
                action()
        except TandemError:
            pass

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=QTY)
    def receive(self, p, w, q):
        self._try(lambda: self.s.validate_document(self.s.create_document({
            "kind": "receipt", "warehouse_id": self.wh[w].id,
            "lines": [{"product_id": self.products[p].id, "quantity": q}]})))

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=QTY)
    def reserve(self, p, w, q):
        self.refs += 1
        self._try(lambda: self.s.reserve_stock(f"R{self.refs}", self.products[p].id, q, self.wh[w].id))

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=QTY, part=st.booleans())
    def deliver(self, p, w, q, part):
        self.refs += 1

        def run():
            doc = self.s.create_delivery(f"D{self.refs}", [{"product_id": self.products[p].id, "quantity": q}],
                                         self.wh[w].id)
            self.s.validate_document(doc, {doc.lines[0].id: q // 2} if part else None)
        self._try(run)

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=QTY)
    def transfer(self, p, w, q):
        self._try(lambda: self.s.validate_document(self.s.create_document({
            "kind": "internal", "warehouse_id": self.wh[w].id,
            "destination_location_id": self.s.stock_location(self.wh[1 - w].id).id,
            "lines": [{"product_id": self.products[p].id, "quantity": q}]})))

    @rule(p=st.integers(0, 1), w=st.integers(0, 1), q=st.integers(0, 15))
    def count(self, p, w, q):
        self._try(lambda: self.s.validate_document(self.s.create_document({
            "kind": "adjustment", "warehouse_id": self.wh[w].id,
            "lines": [{"product_id": self.products[p].id, "quantity": q}]})))

    @precondition(lambda self: self.refs > 0)
    @rule(data=st.data())
    def release(self, data):
        ref = data.draw(st.sampled_from([f"R{i}" for i in range(1, self.refs + 1)]))
        self._try(lambda: self.s.release_reservation(ref))

    @invariant()
    def ledger_holds(self):
        assert self.s.quant_mismatches() == []
        for product in self.products:
            for wh in self.wh:
                on_hand = self.s.on_hand(product.id, wh.id)
                assert on_hand >= 0
                assert self.s.reserved(product.id, wh.id) <= on_hand


def test_random_stock_operations_keep_the_ledger_consistent(inv_app):
    StockMachine.app = inv_app
    test = StockMachine.TestCase
    test.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)
    test("runTest").runTest()
