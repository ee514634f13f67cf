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
EXAMPLES, STEPS = 15, 20
P, W = st.integers(0, 1), st.integers(0, 1)


class StockMachine(RuleBasedStateMachine):
    """Receipts, reservations, deliveries (reserved or not), transfers, adjustments and the
    negative-stock setting of each warehouse, in any order.

    Figures (docs/reliability.md): 15 examples of up to 20 steps, derandomized.
    """

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
        self.reservations: dict[str, tuple[int, int]] = {}  # reference -> (product, warehouse)
        self.ever_negative_allowed: set[int] = set()

    def teardown(self):
        db.session.rollback()
        self.ctx.pop()

    def _levels(self) -> dict[tuple[int, int], D]:
        return {(p, w): self.s.on_hand(self.products[p].id, self.wh[w].id) for p in (0, 1) for w in (0, 1)}

    def _try(self, action) -> bool:
        """Run one operation in a savepoint (as a request would roll back); no operation may
        take stock below zero in a warehouse that does not allow negative stock."""
        before = self._levels()
        try:
            with db.session.begin_nested():
                action()
        except TandemError:
            assert self._levels() == before
            return False
        for (p, w), level in self._levels().items():
            if not self.wh[w].allow_negative_stock:
                assert level >= 0 or level >= before[(p, w)], f"H-{p} in W{w + 1}: {before[(p, w)]} -> {level}"
        return True

    @rule(p=P, w=W, q=QTY)
    def receive(self, p, w, q):
        self._try(lambda: self.s.validate_document(self.s.create_document({
            "kind": "receipt", "warehouse_id": self.wh[w].id,
            "lines": [{"product_id": self.products[p].id, "quantity": q}]})))

    @rule(p=P, w=W, q=QTY)
    def reserve(self, p, w, q):
        self.refs += 1
        ref = f"R{self.refs}"
        if self._try(lambda: self.s.reserve_stock(ref, self.products[p].id, q, self.wh[w].id)):
            self.reservations[ref] = (p, w)

    @rule(p=P, w=W, q=QTY, part=st.booleans())
    def deliver(self, p, w, q, part):
        self.refs += 1
        self._deliver(f"D{self.refs}", p, w, q, part)

    @precondition(lambda self: self.reservations)
    @rule(data=st.data(), q=QTY, part=st.booleans())
    def deliver_reserved(self, data, q, part):
        ref = data.draw(st.sampled_from(sorted(self.reservations)))
        self._deliver(ref, *self.reservations[ref], q, part)

    def _deliver(self, ref, p, w, q, part):
        def run():
            doc = self.s.create_delivery(ref, [{"product_id": self.products[p].id, "quantity": q}], self.wh[w].id)
            self.s.validate_document(doc, {doc.lines[0].id: q // 2} if part else None)
        self._try(run)

    @rule(p=P, w=W, q=QTY)
    def transfer(self, p, w, q):
        self._try(lambda: self.s.validate_document(self.s.create_document({
            "kind": "internal", "warehouse_id": self.wh[w].id,
            "destination_location_id": self.s.stock_location(self.wh[1 - w].id).id,
            "lines": [{"product_id": self.products[p].id, "quantity": q}]})))

    @rule(p=P, w=W, q=st.integers(0, 15))
    def count(self, p, w, q):
        self._try(lambda: self.s.validate_document(self.s.create_document({
            "kind": "adjustment", "warehouse_id": self.wh[w].id,
            "lines": [{"product_id": self.products[p].id, "quantity": q}]})))

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def release(self, data):
        ref = data.draw(st.sampled_from(sorted(self.reservations)))
        self._try(lambda: self.s.release_reservation(ref))

    @rule(w=W, allowed=st.booleans())
    def allow_negative_stock(self, w, allowed):
        self.s.update_warehouse(self.wh[w], {"allow_negative_stock": allowed})
        if allowed:
            self.ever_negative_allowed.add(w)

    @invariant()
    def ledger_holds(self):
        assert self.s.quant_mismatches() == []
        for p, product in enumerate(self.products):
            assert self.s.on_hand(product.id) == sum(self.s.on_hand(product.id, wh.id) for wh in self.wh)
            for w, wh in enumerate(self.wh):
                on_hand, held = self.s.on_hand(product.id, wh.id), self.s.reserved(product.id, wh.id)
                assert held >= 0
                if w in self.ever_negative_allowed:
                    continue  # deliveries past the free stock were allowed here
                assert on_hand >= 0
                assert held <= on_hand


def test_random_stock_operations_keep_the_ledger_consistent(inv_app):
    StockMachine.app = inv_app
    test = StockMachine.TestCase
    test.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None)
    test("runTest").runTest()
