"""Property: any sequence of deal wins, deliveries, payments, credit notes, changes of the
invoice policy and uninstalls/reinstalls of inventory and finance leaves the bridge's
reconciliation (``tandem bridge reconcile``) with nothing to report and no reservation or
invoice without its order, after every step; the ledger's hash chains verify at the end.

The finance and inventory machines are in tests/erp_finance/test_properties.py and
tests/erp_inventory/test_concurrency_and_properties.py.
Figures (docs/reliability.md): 15 examples of up to 20 steps, derandomized.
"""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core import lifecycle
from core.db import db
from core.errors import RuleViolation
from core.registry import current_registry
from tests.reliability.checks import broken_chains, drift, orphans

EXAMPLES, STEPS = 15, 20
SKUS = ("INV-A", "INV-B")
LINES = st.lists(st.tuples(st.sampled_from((*SKUS, None)), st.integers(1, 4)), min_size=1, max_size=3)
FRACTIONS = st.sampled_from([Decimal("0.3"), Decimal("0.5"), Decimal("1")])
ERP = st.sampled_from(("erp_inventory", "erp_finance"))


class Bridge(RuleBasedStateMachine):
    """Runs inside one app context, through the services; every example is rolled back."""

    app = None
    done: Counter = Counter()  # actions that went through, over every example

    def __init__(self):
        super().__init__()
        from plugins.crm import services as crm
        from plugins.erp_inventory import services as inventory

        self.ctx = self.app.app_context()
        self.ctx.push()
        current_registry().sync(db.session)
        self.crm = crm
        warehouse = inventory.create_warehouse({"code": "INVW", "name": "Invariant stock"})
        for sku in SKUS:
            product = inventory.create_product({"sku": sku, "name": sku, "sale_price": Decimal("40.00")})
            inventory.validate_document(inventory.create_document({
                "kind": "adjustment", "warehouse_id": warehouse.id,
                "lines": [{"product_id": product.id, "quantity": 12}]}))
        self.accounts = [crm.create_account({"name": f"Invariant {i}"}).id for i in range(2)]
        self.orders: list[str] = []  # numbers of the orders won deals became
        self.installed = {"erp_inventory": True, "erp_finance": True}

    def teardown(self):
        if self.installed["erp_finance"]:
            assert broken_chains(None) == []
        db.session.rollback()
        current_registry().sync(db.session)
        self.ctx.pop()

    def _run(self, what: str, action, *allowed: str):
        """One user action in a savepoint (as a request would roll back); only the named
        refusals are expected."""
        try:
            with db.session.begin_nested():
                result = action()
            self.done[what] += 1
            return result
        except RuleViolation as exc:
            assert exc.code in allowed, f"{exc.code}: {exc.message}"
            self.done[f"{what} refused"] += 1
            return None
        finally:
            current_registry().sync(db.session)

    def _order(self, number: str):
        from plugins.bridge.models import SalesOrder

        return db.session.scalar(sa.select(SalesOrder).where(SalesOrder.number == number))

    def _open_invoice(self, data):
        """One of the orders' posted invoices that still have something to pay, if any."""
        from plugins.bridge.models import OrderInvoice
        from plugins.erp_finance import services as finance

        ids = db.session.scalars(sa.select(OrderInvoice.invoice_id).order_by(OrderInvoice.id)).all()
        found = [i for i, state in sorted(finance.invoice_states(ids).items()) if state in ("posted", "partially_paid")]
        return finance.get_invoice(data.draw(st.sampled_from(found))) if found else None

    @rule(account=st.integers(0, 1), lines=LINES, policy=st.sampled_from(("on_order", "on_delivery")))
    def win_a_deal(self, account, lines, policy):
        from plugins.bridge import services as bridge
        from plugins.crm.work import accept_quote, create_quote

        def win():
            bridge.update_settings({"invoice_policy": policy})
            deal = self.crm.create_deal({"title": f"Deal {len(self.orders)}", "account_id": self.accounts[account],
                                         "currency": "EUR"})
            quote = create_quote({"deal_id": deal.id, "lines": [
                {"description": sku or "Set-up", "product_ref": sku, "quantity": Decimal(qty),
                 "unit_price": Decimal("40.00") if sku else Decimal("25.00")} for sku, qty in lines]})
            accept_quote(quote)
            self.crm.win_deal(deal)
            return deal.id

        deal_id = self._run("win", win)
        if deal_id is not None:
            from plugins.bridge.deals import order_for_deal

            self.orders.append(order_for_deal(deal_id).number)

    @precondition(lambda self: self.orders and self.installed["erp_inventory"])
    @rule(data=st.data(), partial=st.booleans())
    def deliver(self, data, partial):
        from plugins.erp_inventory import services as inventory
        from plugins.erp_inventory.models import StockDocument

        ready = db.session.scalars(sa.select(StockDocument).where(
            StockDocument.reference.in_(self.orders), StockDocument.kind == "delivery",
            StockDocument.state == "ready").order_by(StockDocument.id)).all()
        if ready:
            doc = data.draw(st.sampled_from(ready))
            done = {line.id: line.quantity // 2 for line in doc.lines} if partial else None
            self._run("partial delivery" if partial else "delivery", lambda: inventory.validate_document(doc, done))

    @precondition(lambda self: self.orders and self.installed["erp_finance"])
    @rule(data=st.data(), fraction=FRACTIONS)
    def pay(self, data, fraction):
        from plugins.erp_finance import services as finance

        if (invoice := self._open_invoice(data)) is not None:
            amount = (invoice.amount_residual * fraction).quantize(Decimal("0.01"))
            self._run("payment", lambda: finance.register_payment({
                "customer_id": invoice.customer_id, "amount": amount,
                "allocations": [{"invoice_id": invoice.id, "amount": amount}]}))

    @precondition(lambda self: self.orders and self.installed["erp_finance"])
    @rule(data=st.data(), fraction=FRACTIONS)
    def credit_note(self, data, fraction):
        from plugins.erp_finance import services as finance

        if (invoice := self._open_invoice(data)) is not None:
            amount = (invoice.amount_untaxed * fraction).quantize(Decimal("0.01"))
            self._run("credit note", lambda: finance.create_credit_note(invoice, {"lines": [
                {"description": "Goodwill", "quantity": Decimal(1), "unit_price": amount}]}),
                "credit_exceeds_invoice")

    @rule(module=ERP)
    def uninstall_or_reinstall(self, module):
        if self.installed[module]:
            self._run(f"uninstall {module}", lambda: lifecycle.uninstall(module))
        else:
            self._run(f"reinstall {module}", lambda: lifecycle.install(module))
        self.installed[module] = current_registry().is_installed(module)

    @invariant()
    def reconcile_reports_nothing(self):
        assert drift(None) == []

    @invariant()
    def nothing_without_its_order(self):
        assert orphans(None) == []


def test_any_sequence_leaves_no_drift(app):
    Bridge.app = app
    Bridge.done.clear()
    run = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None)(Bridge).TestCase
    run("runTest").runTest()
    print("actions done:", dict(sorted(Bridge.done.items())))
    kinds = ("win", "delivery", "partial delivery", "payment", "credit note",
             "uninstall erp_inventory", "reinstall erp_inventory", "uninstall erp_finance", "reinstall erp_finance")
    assert all(Bridge.done[k] for k in kinds), f"some actions never ran: {Bridge.done}"
