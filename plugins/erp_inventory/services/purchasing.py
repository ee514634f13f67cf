"""Suppliers, reorder rules and purchase orders.

When a product's available quantity in a warehouse falls below its reorder rule's
minimum, ``on_stock_low`` is emitted and a draft purchase order for the preferred
supplier (one per supplier and warehouse) gets a line bringing it up to the maximum.
Receiving a purchase order validates a receipt: moves in, average costs updated.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.events import emit
from core.records import ensure_unique
from core.states import lock, require_state, state_change
from plugins.erp_inventory.hookspecs import StockLow
from plugins.erp_inventory.models import (OPEN_PO_STATES, Product, PurchaseLine, PurchaseOrder, ReorderRule,
                                          Supplier, SupplierPrice, Warehouse)
from plugins.erp_inventory.services import stock
from plugins.erp_inventory.services.stock import qty

SUPPLIER_FIELDS = ("name", "email", "phone", "currency", "lead_time_days", "active")
PRICE_FIELDS = ("supplier_id", "product_id", "price", "currency", "min_quantity", "lead_time_days", "preferred")


def _get(model, record_id: int, field: str):
    record = db.session.get(model, record_id) if record_id is not None else None
    if record is None:
        raise ValidationFailed({field: [f"{model.__name__} {record_id} does not exist."]})
    return record


# --- suppliers and their prices ---


def create_supplier(data: dict) -> Supplier:
    """Create a supplier (its name is unique)."""
    data = {k: v for k, v in data.items() if k in SUPPLIER_FIELDS}
    ensure_unique(Supplier.name, data["name"], None, "name", "Supplier {id} already has this name.")
    supplier = Supplier(**data)
    db.session.add(supplier)
    db.session.flush()
    return supplier


def update_supplier(supplier: Supplier, data: dict) -> Supplier:
    """Change a supplier's details."""
    data = {k: v for k, v in data.items() if k in SUPPLIER_FIELDS}
    if "name" in data:
        ensure_unique(Supplier.name, data["name"], supplier.id, "name", "Supplier {id} already has this name.")
    for key, value in data.items():
        setattr(supplier, key, value)
    db.session.flush()
    return supplier


def _preferred_only(price: SupplierPrice) -> None:
    if price.preferred:
        db.session.execute(sa.update(SupplierPrice).where(
            SupplierPrice.product_id == price.product_id, SupplierPrice.id != price.id)
            .values(preferred=False).execution_options(synchronize_session="fetch"))


def create_supplier_price(data: dict) -> SupplierPrice:
    """Record what a supplier charges for a product (one price per supplier and product)."""
    data = {k: v for k, v in data.items() if k in PRICE_FIELDS}
    supplier = _get(Supplier, data.get("supplier_id"), "supplier_id")
    _get(Product, data.get("product_id"), "product_id")
    clash = db.session.scalar(sa.select(SupplierPrice.id).where(
        SupplierPrice.supplier_id == data["supplier_id"], SupplierPrice.product_id == data["product_id"]))
    if clash:
        raise ValidationFailed({"product_id": [f"This supplier already has a price for the product (price {clash})."]})
    data.setdefault("currency", supplier.currency)
    data.setdefault("lead_time_days", supplier.lead_time_days)
    price = SupplierPrice(**data)
    db.session.add(price)
    db.session.flush()
    _preferred_only(price)
    return price


def update_supplier_price(price: SupplierPrice, data: dict) -> SupplierPrice:
    """Change a supplier price (supplier and product stay)."""
    for key in ("price", "currency", "min_quantity", "lead_time_days", "preferred"):
        if key in data:
            setattr(price, key, data[key])
    db.session.flush()
    _preferred_only(price)
    return price


def preferred_price(product_id: int) -> SupplierPrice | None:
    """The price of the supplier to buy a product from: the preferred one, else the cheapest."""
    return db.session.scalar(sa.select(SupplierPrice).join(Supplier).where(
        SupplierPrice.product_id == product_id, Supplier.active.is_(True))
        .order_by(SupplierPrice.preferred.desc(), SupplierPrice.price, SupplierPrice.id).limit(1))


# --- reorder rules ---


def _check_rule(minimum, maximum) -> None:
    if minimum is not None and maximum is not None and qty(maximum) < qty(minimum):
        raise ValidationFailed({"maximum": ["Must be at least the minimum."]})


def create_reorder_rule(data: dict) -> ReorderRule:
    """Keep a product between a minimum and a maximum in a warehouse (one rule per pair)."""
    _get(Product, data.get("product_id"), "product_id")
    _get(Warehouse, data.get("warehouse_id"), "warehouse_id")
    _check_rule(data["minimum"], data["maximum"])
    clash = db.session.scalar(sa.select(ReorderRule.id).where(
        ReorderRule.product_id == data["product_id"], ReorderRule.warehouse_id == data["warehouse_id"]))
    if clash:
        raise ValidationFailed({"product_id": [f"This product already has a rule in this warehouse (rule {clash})."]})
    rule = ReorderRule(product_id=data["product_id"], warehouse_id=data["warehouse_id"],
                       minimum=qty(data["minimum"]), maximum=qty(data["maximum"]))
    db.session.add(rule)
    db.session.flush()
    return rule


def update_reorder_rule(rule: ReorderRule, data: dict) -> ReorderRule:
    """Change a rule's minimum and maximum."""
    _check_rule(data.get("minimum", rule.minimum), data.get("maximum", rule.maximum))
    for key in ("minimum", "maximum"):
        if key in data:
            setattr(rule, key, qty(data[key]))
    db.session.flush()
    return rule


def check_reorder(product_id: int, warehouse_id: int) -> PurchaseOrder | None:
    """Compare a product's available quantity with its rule; below the minimum, propose a purchase.

    Emits ``on_stock_low`` when the quantity crosses the minimum downwards; while it
    stays below, the proposal is kept up to the maximum. Returns the proposal, if any.
    """
    rule = db.session.scalar(sa.select(ReorderRule).where(
        ReorderRule.product_id == product_id, ReorderRule.warehouse_id == warehouse_id))
    if rule is None:
        return None
    free = stock.available(product_id, warehouse_id)
    if free >= qty(rule.minimum):
        rule.below = False
        return None
    order = propose_purchase(rule, free)
    if not rule.below:
        rule.below, rule.alerts = True, rule.alerts + 1
        db.session.flush()
        product = db.session.get(Product, product_id)
        emit("on_stock_low", StockLow(product_id=product_id, sku=product.sku, warehouse_id=warehouse_id,
                                      available=free, minimum=qty(rule.minimum), maximum=qty(rule.maximum),
                                      purchase_order_id=order.id if order else None),
             key=f"inventory:stock_low:{rule.id}:{rule.alerts}")
    return order


def propose_purchase(rule: ReorderRule, free: Decimal) -> PurchaseOrder | None:
    """Create or extend the draft purchase order of the preferred supplier for a rule.

    The line asks for what brings available + incoming up to the maximum, at least the
    supplier's minimum quantity. None when nothing is needed or no supplier sells it.
    """
    need = qty(rule.maximum) - free - stock.incoming(rule.product_id, rule.warehouse_id)
    price = preferred_price(rule.product_id)
    if need <= 0 or price is None:
        return None
    wanted = max(need, qty(price.min_quantity))
    order = db.session.scalar(sa.select(PurchaseOrder).where(
        PurchaseOrder.supplier_id == price.supplier_id, PurchaseOrder.warehouse_id == rule.warehouse_id,
        PurchaseOrder.state == "draft").order_by(PurchaseOrder.id.desc()).limit(1))
    if order is None:
        order = create_purchase_order({
            "supplier_id": price.supplier_id, "warehouse_id": rule.warehouse_id,
            "expected_date": dt.date.today() + dt.timedelta(days=price.lead_time_days),
            "notes": "Proposed by the reorder rules"})
    line = next((l for l in order.lines if l.product_id == rule.product_id), None)
    if line is None:
        add_purchase_line(order, {"product_id": rule.product_id, "quantity": wanted, "unit_price": price.price})
    elif qty(line.quantity) < wanted:
        line.quantity = wanted
    db.session.flush()
    return order


def replenish() -> list[PurchaseOrder]:
    """Check every reorder rule (``tandem inventory replenish``); returns the proposals touched."""
    from plugins.erp_inventory.reports import below_minimum_query

    touched = {}
    for row in db.session.execute(below_minimum_query()).mappings().all():
        order = check_reorder(row["product_id"], row["warehouse_id"])
        if order is not None:
            touched[order.id] = order
    return list(touched.values())


# --- purchase orders ---


def get_purchase_order(order_id: int) -> PurchaseOrder:
    order = db.session.get(PurchaseOrder, order_id)
    if order is None:
        raise NotFound(f"Purchase order {order_id} not found")
    return order


def create_purchase_order(data: dict) -> PurchaseOrder:
    """Draft a purchase order for a supplier and warehouse, with lines if given."""
    supplier = _get(Supplier, data.get("supplier_id"), "supplier_id")
    warehouse = stock.get_warehouse(data.get("warehouse_id"))
    order = PurchaseOrder(supplier_id=supplier.id, warehouse_id=warehouse.id, currency=supplier.currency,
                          expected_date=data.get("expected_date"), notes=data.get("notes"))
    db.session.add(order)
    db.session.flush()
    order.number = f"PO{order.id:05d}"
    for line in data.get("lines") or ():
        add_purchase_line(order, line)
    db.session.flush()
    return order


def purchase_order_lock(order: PurchaseOrder) -> str | None:
    """Why ``order`` cannot be edited (it is received or cancelled), or None."""
    if order.state in ("received", "cancelled"):
        return f"{order.number} is {order.state}: it cannot change."
    return None


def update_purchase_order(order: PurchaseOrder, data: dict) -> PurchaseOrder:
    """Change the expected date or notes (any open order), or the supplier (a draft)."""
    lock(order)
    require_state(order, ("draft", *OPEN_PO_STATES), "change")
    if "supplier_id" in data and data["supplier_id"] != order.supplier_id:
        require_state(order, ("draft",), "given another supplier")
        order.supplier_id = _get(Supplier, data["supplier_id"], "supplier_id").id
    for key in ("expected_date", "notes"):
        if key in data:
            setattr(order, key, data[key])
    db.session.flush()
    return order


def add_purchase_line(order: PurchaseOrder, data: dict) -> PurchaseLine:
    """Add a product to a draft order; the unit price defaults to the supplier's price."""
    lock(order)
    require_state(order, ("draft",), "given lines")
    product = _get(Product, data.get("product_id"), "product_id")
    quantity = qty(data["quantity"])
    if quantity <= 0:
        raise ValidationFailed({"quantity": ["Must be greater than 0."]})
    price = data.get("unit_price")
    if price is None:
        known = db.session.scalar(sa.select(SupplierPrice.price).where(
            SupplierPrice.supplier_id == order.supplier_id, SupplierPrice.product_id == product.id))
        price = known if known is not None else product.cost
    line = PurchaseLine(product_id=product.id, quantity=quantity, unit_price=Decimal(price))
    order.lines.append(line)
    db.session.flush()
    return line


@state_change(PurchaseOrder, "confirm", states=("draft",))
def confirm_purchase_order(order: PurchaseOrder) -> PurchaseOrder:
    """Send the order: its quantities count as incoming from now on."""
    if not order.lines:
        raise RuleViolation(f"{order.number} has no lines.", code="no_lines")
    order.state, order.confirmed_at = "confirmed", utcnow()
    if order.expected_date is None:
        order.expected_date = dt.date.today() + dt.timedelta(days=order.supplier.lead_time_days)
    db.session.flush()
    return order


@state_change(PurchaseOrder, "cancel", states=("draft", "confirmed"))
def cancel_purchase_order(order: PurchaseOrder) -> PurchaseOrder:
    """Cancel a draft or confirmed order of which nothing was received."""
    order.state = "cancelled"
    db.session.flush()
    return order


@state_change(PurchaseOrder, "receive", states=("confirmed", "partially_received"))
def receive_purchase_order(order: PurchaseOrder, quantities: dict[int, object] | None = None):
    """Receive goods of a confirmed order: a receipt is created and validated (moves in).

    ``quantities`` maps line ids to received quantities (default: everything still
    expected). Over-receiving is refused. Returns the receipt.
    """
    from plugins.erp_inventory.services import documents

    asked = {int(k): qty(v) for k, v in (quantities or {}).items()}
    unknown = set(asked) - {line.id for line in order.lines}
    if unknown:
        raise ValidationFailed({"quantities": [f"Lines {sorted(unknown)} are not on {order.number}."]})
    lines = []
    for line in order.lines:
        amount = asked.get(line.id, line.remaining) if quantities else line.remaining
        if amount < 0 or amount > line.remaining:
            raise ValidationFailed({"quantities": [
                f"Line {line.id} ({line.product.sku}): receive between 0 and {line.remaining}."]})
        if amount > 0:
            lines.append({"product_id": line.product_id, "quantity": amount, "unit_cost": line.unit_price,
                          "purchase_line_id": line.id})
            line.received_quantity = qty(line.received_quantity) + amount
    if not lines:
        raise ValidationFailed({"quantities": ["Nothing to receive."]})
    receipt = documents.create_document({"kind": "receipt", "warehouse_id": order.warehouse_id,
                                         "reference": order.number, "purchase_order_id": order.id,
                                         "lines": lines})
    order.state = "received" if all(line.remaining == 0 for line in order.lines) else "partially_received"
    db.session.flush()
    documents.validate_document(receipt)
    return receipt
