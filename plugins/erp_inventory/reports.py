"""Inventory reports, aggregated in SQL (GROUP BY and window functions).

Each report is a ``Report``: a query built from its filters and the columns it shows.
The API serves it as JSON, the pages as a table and as CSV, from the same query.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa

from core.api import count_rows
from core.db import Money, Quantity, read_session
from plugins.erp_inventory.models import (OPEN_PO_STATES, Location, Product, PurchaseLine,
                                          PurchaseOrder, Quant, ReorderRule, Reservation,
                                          StockDocument, StockMove, Supplier, Warehouse)


def _on_hand_by_warehouse():
    return (sa.select(Quant.product_id, Location.warehouse_id, sa.func.sum(Quant.quantity).label("qty"))
            .join(Location, Location.id == Quant.location_id).where(Location.kind == "internal")
            .group_by(Quant.product_id, Location.warehouse_id).subquery("on_hand"))


def _reserved_by_warehouse():
    return (sa.select(Reservation.product_id, Reservation.warehouse_id,
                      sa.func.sum(Reservation.quantity).label("qty"),
                      sa.func.sum(Reservation.backorder_quantity).label("backorder"))
            .where(Reservation.state == "active")
            .group_by(Reservation.product_id, Reservation.warehouse_id).subquery("reserved"))


def _incoming_by_warehouse():
    return (sa.select(PurchaseLine.product_id, PurchaseOrder.warehouse_id,
                      sa.func.sum(PurchaseLine.quantity - PurchaseLine.received_quantity).label("qty"))
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseLine.order_id)
            .where(PurchaseOrder.state.in_(OPEN_PO_STATES))
            .group_by(PurchaseLine.product_id, PurchaseOrder.warehouse_id).subquery("incoming"))


def _zero(column):
    return sa.func.coalesce(column, sa.literal(0, Quantity))


def stock_levels_query(product_id: int | None = None, warehouse_id: int | None = None,
                       q: str | None = None, all_warehouses: bool = False):
    """On hand, reserved, available, incoming and value per product and warehouse.

    Without ``all_warehouses`` only pairs with some stock, reservation or incoming are listed.
    """
    oh, rs, inc = _on_hand_by_warehouse(), _reserved_by_warehouse(), _incoming_by_warehouse()
    on_hand, reserved_qty = _zero(oh.c.qty), _zero(rs.c.qty)
    pair = lambda sub: sa.and_(sub.c.product_id == Product.id, sub.c.warehouse_id == Warehouse.id)  # noqa: E731
    stmt = (sa.select(Product.id.label("product_id"), Product.sku, Product.name, Product.category,
                      Warehouse.id.label("warehouse_id"), Warehouse.code.label("warehouse_code"),
                      on_hand.label("on_hand"), reserved_qty.label("reserved"),
                      (on_hand - reserved_qty).label("available"), _zero(rs.c.backorder).label("backordered"),
                      _zero(inc.c.qty).label("incoming"), Product.cost.label("average_cost"),
                      sa.cast(on_hand * Product.cost, Money).label("value"))
            .select_from(Product).join(Warehouse, sa.true())
            .outerjoin(oh, pair(oh)).outerjoin(rs, pair(rs)).outerjoin(inc, pair(inc))
            .where(Product.type != "service"))
    if not all_warehouses:
        stmt = stmt.where(sa.or_(oh.c.qty.is_not(None), rs.c.qty.is_not(None), inc.c.qty.is_not(None)))
    else:
        stmt = stmt.where(Warehouse.active.is_(True))
    if product_id is not None:
        stmt = stmt.where(Product.id == product_id)
    if warehouse_id is not None:
        stmt = stmt.where(Warehouse.id == warehouse_id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(Product.sku.ilike(like), Product.name.ilike(like)))
    return stmt.order_by(Product.sku, Warehouse.code)


def _signed_change(location_attr, warehouse_id: int | None):
    """What a move adds to on-hand stock: everywhere, or in one warehouse.
    ``location_attr(end, name)`` reads attribute ``name`` of the move's "source" or
    "destination" location (through a join or a subquery, as the caller reads them)."""
    def counted(end):
        if warehouse_id is not None:
            return location_attr(end, "warehouse_id") == warehouse_id
        return location_attr(end, "kind") == "internal"

    return (sa.case((counted("destination"), StockMove.quantity), else_=0)
            - sa.case((counted("source"), StockMove.quantity), else_=0))


def movement_history_query(product_id: int | None = None, warehouse_id: int | None = None,
                           q: str | None = None):
    """Every move, newest first, with what it changed; ``running_balances`` adds the balance.

    Names are looked up per row shown (subqueries, not joins), so counting the moves of a
    large history reads the moves alone (``core.api.count_rows``).
    """
    def location(column, attr):
        return sa.select(getattr(Location, attr)).where(Location.id == column).scalar_subquery()

    source, destination = StockMove.source_location_id, StockMove.destination_location_id
    ends = {"source": source, "destination": destination}
    signed = _signed_change(lambda end, attr: location(ends[end], attr), warehouse_id)
    stmt = sa.select(
        StockMove.id.label("move_id"), StockMove.done_at, StockMove.product_id,
        sa.select(Product.sku).where(Product.id == StockMove.product_id).scalar_subquery().label("sku"),
        location(source, "name").label("source"), location(destination, "name").label("destination"),
        StockMove.quantity, StockMove.unit_cost,
        sa.select(StockDocument.number).where(StockDocument.id == StockMove.document_id)
        .scalar_subquery().label("document"),
        StockMove.reference, sa.cast(signed, Quantity).label("change"))
    if product_id is not None:
        stmt = stmt.where(StockMove.product_id == product_id)
    if warehouse_id is not None:
        in_warehouse = sa.select(Location.id).where(Location.warehouse_id == warehouse_id)
        stmt = stmt.where(sa.or_(source.in_(in_warehouse), destination.in_(in_warehouse)))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(StockMove.product_id.in_(sa.select(Product.id).where(Product.sku.ilike(like))),
                                 StockMove.reference.ilike(like)))
    return stmt.order_by(StockMove.done_at.desc(), StockMove.id.desc())


def running_balances(rows: list[dict], warehouse_id: int | None = None, **_filters) -> None:
    """Add to each move of ``rows`` its product's on-hand balance just after it.

    A window over the moves of the rows' products only, up to the latest row: a page
    of the history reads a few products' moves, not every move of the book.
    """
    if not rows:
        return
    source, destination = sa.orm.aliased(Location), sa.orm.aliased(Location)
    ends = {"source": source, "destination": destination}
    signed = _signed_change(lambda end, attr: getattr(ends[end], attr), warehouse_id)
    balance = sa.func.sum(signed).over(partition_by=StockMove.product_id,
                                       order_by=(StockMove.done_at, StockMove.id))
    products = sorted({row["product_id"] for row in rows})
    until = max(row["done_at"] for row in rows)
    found = {}
    for i in range(0, len(products), 500):
        stmt = (sa.select(StockMove.id, sa.cast(balance, Quantity))
                .join(source, source.id == StockMove.source_location_id)
                .join(destination, destination.id == StockMove.destination_location_id)
                .where(StockMove.product_id.in_(products[i:i + 500]), StockMove.done_at <= until))
        found.update(read_session().execute(stmt).all())
    for row in rows:
        row["balance"] = found[row["move_id"]]


def below_minimum_query(warehouse_id: int | None = None, q: str | None = None):
    """Products whose available quantity is below their reorder rule's minimum."""
    oh, rs, inc = _on_hand_by_warehouse(), _reserved_by_warehouse(), _incoming_by_warehouse()
    pair = lambda sub: sa.and_(sub.c.product_id == ReorderRule.product_id,  # noqa: E731
                               sub.c.warehouse_id == ReorderRule.warehouse_id)
    free = _zero(oh.c.qty) - _zero(rs.c.qty)
    stmt = (sa.select(ReorderRule.id.label("rule_id"), Product.id.label("product_id"), Product.sku, Product.name,
                      Warehouse.id.label("warehouse_id"), Warehouse.code.label("warehouse_code"),
                      ReorderRule.minimum, ReorderRule.maximum, free.label("available"),
                      _zero(inc.c.qty).label("incoming"),
                      (ReorderRule.maximum - free - _zero(inc.c.qty)).label("to_order"))
            .join(Product, Product.id == ReorderRule.product_id)
            .join(Warehouse, Warehouse.id == ReorderRule.warehouse_id)
            .outerjoin(oh, pair(oh)).outerjoin(rs, pair(rs)).outerjoin(inc, pair(inc))
            .where(free < ReorderRule.minimum))
    if warehouse_id is not None:
        stmt = stmt.where(ReorderRule.warehouse_id == warehouse_id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(Product.sku.ilike(like), Product.name.ilike(like)))
    return stmt.order_by(Product.sku, Warehouse.code)


def valuation_query(warehouse_id: int | None = None, q: str | None = None):
    """Stock value (quantity x moving-average cost) per warehouse."""
    value = sa.func.sum(Quant.quantity * Product.cost)
    stmt = (sa.select(Warehouse.id.label("warehouse_id"), Warehouse.code.label("warehouse_code"),
                      Warehouse.name.label("warehouse_name"),
                      sa.func.count(sa.distinct(Quant.product_id)).label("products"),
                      sa.cast(sa.func.sum(Quant.quantity), Quantity).label("quantity"),
                      sa.cast(value, Money).label("value"))
            .select_from(Quant).join(Location, Location.id == Quant.location_id)
            .join(Warehouse, Warehouse.id == Location.warehouse_id)
            .join(Product, Product.id == Quant.product_id)
            .where(Location.kind == "internal", Quant.quantity != 0)
            .group_by(Warehouse.id, Warehouse.code, Warehouse.name))
    if warehouse_id is not None:
        stmt = stmt.where(Warehouse.id == warehouse_id)
    if q:
        stmt = stmt.where(sa.or_(Warehouse.code.ilike(f"%{q}%"), Warehouse.name.ilike(f"%{q}%")))
    return stmt.order_by(Warehouse.code)


def valuation_total(warehouse_id: int | None = None):
    """The value and quantity of all stock (of one warehouse): one SQL sum."""
    stmt = (sa.select(sa.cast(sa.func.coalesce(sa.func.sum(Quant.quantity * Product.cost), 0), Money).label("value"),
                      sa.cast(sa.func.coalesce(sa.func.sum(Quant.quantity), 0), Quantity).label("quantity"))
            .select_from(Quant).join(Location, Location.id == Quant.location_id)
            .join(Product, Product.id == Quant.product_id).where(Location.kind == "internal"))
    if warehouse_id is not None:
        stmt = stmt.where(Location.warehouse_id == warehouse_id)
    return read_session().execute(stmt).mappings().one()


def open_purchase_orders_query(warehouse_id: int | None = None, q: str | None = None, late_only: bool = False):
    """Confirmed or partially received orders, with what is still expected; late ones flagged."""
    today = dt.date.today()
    late = sa.and_(PurchaseOrder.expected_date.is_not(None), PurchaseOrder.expected_date < today)
    stmt = (sa.select(PurchaseOrder.id.label("purchase_order_id"), PurchaseOrder.number,
                      Supplier.name.label("supplier"), Warehouse.code.label("warehouse_code"),
                      PurchaseOrder.state, PurchaseOrder.expected_date, PurchaseOrder.currency,
                      sa.cast(sa.func.sum(PurchaseLine.quantity), Quantity).label("ordered"),
                      sa.cast(sa.func.sum(PurchaseLine.received_quantity), Quantity).label("received"),
                      sa.cast(sa.func.sum((PurchaseLine.quantity - PurchaseLine.received_quantity)
                                          * PurchaseLine.unit_price), Money).label("open_value"),
                      sa.case((late, sa.true()), else_=sa.false()).label("late"))
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
            .join(PurchaseLine, PurchaseLine.order_id == PurchaseOrder.id)
            .where(PurchaseOrder.state.in_(OPEN_PO_STATES))
            .group_by(PurchaseOrder.id, PurchaseOrder.number, Supplier.name, Warehouse.code,
                      PurchaseOrder.state, PurchaseOrder.expected_date, PurchaseOrder.currency))
    if late_only:
        stmt = stmt.where(late)
    if warehouse_id is not None:
        stmt = stmt.where(PurchaseOrder.warehouse_id == warehouse_id)
    if q:
        stmt = stmt.where(sa.or_(PurchaseOrder.number.ilike(f"%{q}%"), Supplier.name.ilike(f"%{q}%")))
    return stmt.order_by(PurchaseOrder.expected_date, PurchaseOrder.id)


@dataclass(frozen=True)
class Report:
    """A report as the pages and the API show it."""

    name: str  # URL segment
    title: str
    query: Callable[..., object]  # (product_id=, warehouse_id=, q=) -> select
    columns: tuple[tuple[str, str], ...]  # (key, label)
    product_filter: bool = False
    total: Callable[..., dict] | None = None
    complete: Callable[..., None] | None = None  # (rows, **filters): adds computed columns


REPORTS = {r.name: r for r in (
    Report("stock-levels", "Stock levels", stock_levels_query,
           (("sku", "SKU"), ("name", "Product"), ("warehouse_code", "Warehouse"), ("on_hand", "On hand"),
            ("reserved", "Reserved"), ("available", "Available"), ("backordered", "Backordered"),
            ("incoming", "Incoming"), ("average_cost", "Average cost"), ("value", "Value")),
           product_filter=True),
    Report("movements", "Movement history", movement_history_query,
           (("done_at", "Date"), ("sku", "SKU"), ("source", "From"), ("destination", "To"),
            ("quantity", "Quantity"), ("change", "Change"), ("balance", "Balance"),
            ("unit_cost", "Unit cost"), ("document", "Document"), ("reference", "Reference")),
           product_filter=True, complete=running_balances),
    Report("below-minimum", "Products below their reorder minimum",
           lambda product_id=None, **kw: below_minimum_query(**kw),
           (("sku", "SKU"), ("name", "Product"), ("warehouse_code", "Warehouse"), ("available", "Available"),
            ("minimum", "Minimum"), ("maximum", "Maximum"), ("incoming", "Incoming"), ("to_order", "To order"))),
    Report("valuation", "Stock valuation", lambda product_id=None, **kw: valuation_query(**kw),
           (("warehouse_code", "Warehouse"), ("warehouse_name", "Name"), ("products", "Products"),
            ("quantity", "Quantity"), ("value", "Value")),
           total=lambda warehouse_id=None, **_: valuation_total(warehouse_id)),
    Report("open-purchase-orders", "Open purchase orders",
           lambda product_id=None, **kw: open_purchase_orders_query(**kw),
           (("number", "Order"), ("supplier", "Supplier"), ("warehouse_code", "Warehouse"), ("state", "State"),
            ("expected_date", "Expected"), ("ordered", "Ordered"), ("received", "Received"),
            ("open_value", "Open value"), ("currency", "Currency"), ("late", "Late"))),
    Report("late-receipts", "Late receipts",
           lambda product_id=None, **kw: open_purchase_orders_query(late_only=True, **kw),
           (("number", "Order"), ("supplier", "Supplier"), ("warehouse_code", "Warehouse"),
            ("expected_date", "Expected"), ("ordered", "Ordered"), ("received", "Received"),
            ("open_value", "Open value"), ("currency", "Currency"))),
)}


def run_report(report: Report, args: dict, paginate: bool = True) -> dict:
    """Rows of ``report`` for ``args`` (filters, page, per_page), the count, and any total."""
    filters = {"warehouse_id": args.get("warehouse_id"), "q": args.get("q")}
    if report.product_filter:
        filters["product_id"] = args.get("product_id")
    stmt = report.query(**filters)
    total_rows = count_rows(stmt)
    page, per_page = args.get("page", 1), args.get("per_page", 50)
    if paginate:
        stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = [dict(r) for r in read_session().execute(stmt).mappings()]
    if report.complete:
        report.complete(rows, **filters)
    totals = dict(report.total(**filters)) if report.total else None
    return {"report": report.name, "title": report.title, "rows": rows, "total_rows": total_rows,
            "page": page, "per_page": per_page, "totals": totals}
