"""Inventory fixtures: a database with only the kernel and inventory installed."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core import lifecycle
from core.db import db, transaction
from tests.conftest import ApiClient, dispose, login, make_app, token_for


def install_inventory(url: str) -> None:
    app = make_app(url)
    with app.app_context(), transaction():
        lifecycle.install("erp_inventory")
    dispose(app)


@pytest.fixture
def inv_app(kernel_db):
    """An app on a database where inventory is the only plugin installed."""
    install_inventory(kernel_db)
    app = make_app(kernel_db)
    yield app
    dispose(app)


@pytest.fixture
def ctx(inv_app):
    """An app context; what a test writes through services is flushed, never committed."""
    with inv_app.app_context():
        yield inv_app
        db.session.rollback()


@pytest.fixture
def inv_api(inv_app) -> ApiClient:
    return ApiClient(inv_app.test_client(), token_for(inv_app))


@pytest.fixture
def inv_admin(inv_app):
    return login(inv_app.test_client())


class Shop:
    """Makes the records tests need, through the services."""

    def __init__(self):
        from plugins.erp_inventory import services

        self.s = services
        self.wh = services.create_warehouse({"code": "WH1", "name": "Main"})
        self.n = 0

    def product(self, **kw):
        self.n += 1
        data = {"sku": f"P-{self.n:03d}", "name": f"Product {self.n}", "cost": Decimal("0"),
                "sale_price": Decimal("10.00"), **kw}
        return self.s.create_product(data)

    def receive(self, product, quantity, unit_cost=None, warehouse=None):
        doc = self.s.create_document({"kind": "receipt", "warehouse_id": (warehouse or self.wh).id,
                                      "lines": [{"product_id": product.id, "quantity": quantity,
                                                 "unit_cost": unit_cost}]})
        return self.s.validate_document(doc)

    def deliver(self, product, quantity, reference="SO-1", done=None, warehouse=None):
        doc = self.s.create_delivery(reference, [{"product_id": product.id, "quantity": quantity}],
                                     (warehouse or self.wh).id)
        return self.s.validate_document(doc, {doc.lines[0].id: done} if done is not None else None)


@pytest.fixture
def shop(ctx):
    return Shop()


def events(name: str) -> list[dict]:
    import sqlalchemy as sa

    from core.models import Event

    return [e.payload for e in db.session.scalars(sa.select(Event).where(Event.name == name).order_by(Event.id))]
