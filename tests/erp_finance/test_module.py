"""Finance as a module: conformance, alone on a kernel, beside the others, its events, its demo."""
import datetime as dt
import re

import sqlalchemy as sa

from core import lifecycle
from core.db import db, transaction
from plugins.erp_finance import hookspecs, reports, services
from tests.conformance import check_hookspecs, check_plugin, plugin_rules
from tests.conftest import ApiClient, dispose, login, make_app, token_for


def test_conformance(fapp, app):
    check_plugin(fapp, "erp_finance")
    check_plugin(app, "erp_finance")  # with every other plugin installed too
    check_hookspecs(hookspecs)


def test_event_payloads_are_frozen_dataclasses():
    import dataclasses

    for payload in (hookspecs.InvoicePosted, hookspecs.InvoicePaid, hookspecs.PaymentReceived,
                    hookspecs.CreditNoteIssued):
        assert dataclasses.is_dataclass(payload) and payload.__dataclass_params__.frozen


def test_finance_alone_on_a_kernel(kernel_db):
    """Installed on a bare kernel: defaults created, every page and list answers, nothing else needed."""
    app = make_app(kernel_db)
    try:
        with app.app_context(), transaction():
            assert lifecycle.install("erp_finance") == ["erp_finance"]
        registry = app.extensions["tandem"]
        with app.app_context():
            registry.sync(db.session)
            assert registry.installed - registry.essential_names() == {"erp_finance"}
            assert services.get_settings().receivable_account_id is not None
        page, api = login(app.test_client()), ApiClient(app.test_client(), token_for(app))
        from core.api import ApiBlueprint

        for rule, blueprint in plugin_rules(app, registry, "erp_finance"):
            if "GET" in rule.methods and not rule.arguments:
                client = api if isinstance(blueprint, ApiBlueprint) else page
                assert client.get(rule.rule).status_code == 200, rule.rule
        home = page.get("/").get_data(as_text=True)
        assert re.search(r">\s*Invoices\s*<", home) and "Receivables aging" in home
        with app.app_context(), transaction():
            c = services.create_customer({"name": "Solo Ltd"})
            inv = services.create_invoice({"customer_id": c.id, "date": dt.date(2026, 5, 1), "post": True,
                                           "lines": [{"description": "x", "quantity": 1, "unit_price": "10.00"}]})
            assert inv.number == "INV/2026/00001"
            assert reports.trial_balance()["balanced"]
    finally:
        dispose(app)


def test_uninstall_keeps_the_books_and_reinstall_finds_them(fapp):
    with fapp.app_context():
        with transaction():
            c = services.create_customer({"name": "Kept Ltd"})
            services.create_invoice({"customer_id": c.id, "date": dt.date(2026, 5, 1), "post": True,
                                     "lines": [{"description": "x", "quantity": 1, "unit_price": "10.00"}]})
        with transaction():
            lifecycle.uninstall("erp_finance")
        with transaction():
            lifecycle.install("erp_finance")
        from plugins.erp_finance.ledger import DEFAULT_CHART
        from plugins.erp_finance.models import Account

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == len(DEFAULT_CHART)
        assert all(r.ok for r in services.verify_ledger())
        assert services.find_customer(name="kept ltd").name == "Kept Ltd"


def test_demo_data_is_a_consistent_year(fapp):
    from plugins.erp_finance.demo import load
    from plugins.erp_finance.models import Invoice, Payment

    with fapp.app_context():
        counted = []
        with transaction():
            load(counted.append, today=dt.date(2026, 6, 30), months=3)  # the full demo has 12
        kinds = dict(db.session.execute(sa.select(Invoice.kind, sa.func.count()).group_by(Invoice.kind)).all())
        assert kinds["out_invoice"] > 50 and kinds["in_invoice"] > 20 and kinds.get("out_refund", 0) >= 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) > 40
        assert reports.trial_balance(dt.date(2026, 1, 1), dt.date(2026, 6, 30))["balanced"]
        assert reports.balance_sheet(dt.date(2026, 6, 30))["balanced"]
        assert all(r.ok for r in services.verify_ledger())
        assert [r["month"] for r in reports.revenue_by_month(dt.date(2026, 1, 1), dt.date(2026, 6, 30))["rows"]] \
            == ["2026-03", "2026-04", "2026-05", "2026-06"]
        assert sum(counted) > 100


def test_purge_drops_the_books_and_a_reinstall_starts_afresh(fapp):
    with fapp.app_context():
        with transaction():
            c = services.create_customer({"name": "Gone Ltd"})
            services.create_invoice({"customer_id": c.id, "date": dt.date(2026, 5, 1), "post": True,
                                     "lines": [{"description": "x", "quantity": 1, "unit_price": "10.00"}]})
        with transaction():
            lifecycle.uninstall("erp_finance", purge=True)
        assert not sa.inspect(db.engine).has_table("finance_entry")
        with transaction():
            lifecycle.install("erp_finance")
        assert services.find_customer(name="Gone Ltd") is None
        assert services.get_settings().receivable_account_id is not None
