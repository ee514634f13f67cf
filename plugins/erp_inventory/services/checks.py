"""Consistency checks: the stock documents and purchase orders against the moves they wrote.

What ``tandem inventory check`` and ``GET /api/v1/inventory/check`` report next to the
quants that differ from the ledger (``stock.quant_mismatches``). Every check aggregates
in SQL (one grouped query each) and returns only what is wrong: each finding is a dict
with a ``kind``, a readable ``message``, the document or purchase order (id and number)
and the product (id and SKU) it is about, and the two quantities compared (``expected``,
``found``). The checks read; they never change or repair anything.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.db import Quantity, db
from plugins.erp_inventory.models import (DocumentLine, Product, PurchaseLine, PurchaseOrder, StockDocument,
                                          StockMove)
from plugins.erp_inventory.services.stock import qty, quant_mismatches

#: Kinds of document whose moves are their lines (an adjustment moves the difference it counted).
MOVING_KINDS = ("receipt", "delivery", "internal")
#: States of a document that has not moved anything (or never will).
UNMOVED_STATES = ("draft", "ready", "cancelled")
#: Half the smallest quantity stored: sums that differ by less are equal (SQLite adds floats).
SLACK = Decimal("0.0005")


def _zero():
    """A zero typed as a quantity, for the side of a union that has no such column."""
    return sa.cast(sa.literal(0), Quantity)


def _differ(left, right):
    """SQL: the two quantities are not the same."""
    return sa.func.abs(left - right) > SLACK


def _exceeds(left, right):
    """SQL: ``left`` is more than ``right``."""
    return left - right > SLACK


def _finding(kind: str, message: str, *, expected, found, document=None, order=None,
             product_id=None, sku=None) -> dict:
    """One finding: what is wrong, on which document or purchase order, for which product."""
    return {"kind": kind, "message": message,
            "document_id": document.id if document is not None else None,
            "document": document.number if document is not None else None,
            "purchase_order_id": order.id if order is not None else None,
            "purchase_order": order.number if order is not None else None,
            "product_id": product_id, "sku": sku, "expected": qty(expected), "found": qty(found)}


def _document_totals():
    """Per document and product: what its lines ask for, what they say was done, and what
    its moves really moved (one grouped query over the lines and the ledger)."""
    lines = sa.select(DocumentLine.document_id.label("document_id"), DocumentLine.product_id.label("product_id"),
                      DocumentLine.quantity.label("asked"), DocumentLine.done_quantity.label("done"),
                      _zero().label("moved"))
    moves = (sa.select(StockMove.document_id, StockMove.product_id, _zero(), _zero(), StockMove.quantity)
             .where(StockMove.document_id.is_not(None)))
    both = sa.union_all(lines, moves).subquery()
    return (sa.select(both.c.document_id, both.c.product_id, sa.func.sum(both.c.asked).label("asked"),
                      sa.func.sum(both.c.done).label("done"), sa.func.sum(both.c.moved).label("moved"))
            .group_by(both.c.document_id, both.c.product_id).subquery())


def document_problems() -> list[dict]:
    """Stock documents whose moves disagree with their lines; empty when all agree.

    A done receipt, delivery or transfer moves, per product, exactly what its lines say
    was done and never more than they hold (``document_moves_exceed_lines``, else
    ``document_moves_differ_done``); a draft, ready or cancelled document has moved
    nothing (``moves_on_open_document``). Inventory adjustments move the difference they
    counted, so only the last rule applies to them.
    """
    totals = _document_totals()
    moving = sa.and_(StockDocument.state == "done", StockDocument.kind.in_(MOVING_KINDS),
                     sa.or_(_exceeds(totals.c.moved, totals.c.asked), _differ(totals.c.moved, totals.c.done)))
    unmoved = sa.and_(StockDocument.state.in_(UNMOVED_STATES), totals.c.moved > SLACK)
    rows = db.session.execute(
        sa.select(StockDocument, Product.id, Product.sku, totals.c.asked, totals.c.done, totals.c.moved)
        .join(StockDocument, StockDocument.id == totals.c.document_id)
        .join(Product, Product.id == totals.c.product_id)
        .where(sa.or_(moving, unmoved)).order_by(StockDocument.id, Product.id)).all()
    found = []
    for document, product_id, sku, asked, done, moved in rows:
        asked, done, moved = qty(asked), qty(done), qty(moved)
        where = {"document": document, "product_id": product_id, "sku": sku}
        if document.state in UNMOVED_STATES:
            found.append(_finding("moves_on_open_document", f"{document.number} is {document.state} "
                                  f"but moved {moved} of {sku}", expected=0, found=moved, **where))
        elif moved > asked:
            found.append(_finding("document_moves_exceed_lines", f"{document.number} moved {moved} of {sku} "
                                  f"but its lines hold {asked}", expected=asked, found=moved, **where))
        else:
            found.append(_finding("document_moves_differ_done", f"{document.number} moved {moved} of {sku} "
                                  f"but its lines say {done} were done", expected=done, found=moved, **where))
    return found


def _purchase_totals():
    """Per purchase order and product: ordered and received (its lines) and what its
    receipts really moved (one grouped query over the lines and the ledger)."""
    lines = sa.select(PurchaseLine.order_id.label("order_id"), PurchaseLine.product_id.label("product_id"),
                      PurchaseLine.quantity.label("ordered"), PurchaseLine.received_quantity.label("received"),
                      _zero().label("moved"))
    moves = (sa.select(StockDocument.purchase_order_id, StockMove.product_id, _zero(), _zero(), StockMove.quantity)
             .join(StockDocument, StockDocument.id == StockMove.document_id)
             .where(StockDocument.purchase_order_id.is_not(None), StockDocument.kind == "receipt"))
    both = sa.union_all(lines, moves).subquery()
    return (sa.select(both.c.order_id, both.c.product_id, sa.func.sum(both.c.ordered).label("ordered"),
                      sa.func.sum(both.c.received).label("received"), sa.func.sum(both.c.moved).label("moved"))
            .group_by(both.c.order_id, both.c.product_id).subquery())


def purchase_problems() -> list[dict]:
    """Purchase orders whose receipts disagree with their lines; empty when all agree.

    Per product, an order never has more received than ordered (``over_received``: there
    is no setting that allows over-receipt) and its receipts moved exactly what its lines
    say was received (``receipt_moves_differ``). One order and product can have both.
    """
    totals = _purchase_totals()
    rows = db.session.execute(
        sa.select(PurchaseOrder, Product.id, Product.sku, totals.c.ordered, totals.c.received, totals.c.moved)
        .join(PurchaseOrder, PurchaseOrder.id == totals.c.order_id)
        .join(Product, Product.id == totals.c.product_id)
        .where(sa.or_(_exceeds(totals.c.received, totals.c.ordered), _differ(totals.c.moved, totals.c.received)))
        .order_by(PurchaseOrder.id, Product.id)).all()
    found = []
    for order, product_id, sku, ordered, received, moved in rows:
        ordered, received, moved = qty(ordered), qty(received), qty(moved)
        where = {"order": order, "product_id": product_id, "sku": sku}
        if received > ordered:
            found.append(_finding("over_received", f"{order.number} received {received} of {sku} "
                                  f"but ordered {ordered}", expected=ordered, found=received, **where))
        if moved != received:
            found.append(_finding("receipt_moves_differ", f"{order.number}: its receipts moved {moved} of {sku} "
                                  f"but its lines say {received} were received", expected=received, found=moved,
                                  **where))
    return found


def stock_problems() -> list[dict]:
    """Every document and purchase order that disagrees with its moves (see
    ``document_problems`` and ``purchase_problems``); empty when all agree."""
    return document_problems() + purchase_problems()


def stock_check() -> dict:
    """The whole stock check: the quants that differ from their moves (``mismatches``),
    the documents and purchase orders that differ from theirs (``problems``), and ``ok``
    when both lists are empty."""
    mismatches, problems = quant_mismatches(), stock_problems()
    return {"ok": not mismatches and not problems, "mismatches": mismatches, "problems": problems}


def delivered_by_reference(reference_prefix: str = "") -> dict[tuple[str, str], Decimal]:
    """What the deliveries of each reference starting with ``reference_prefix`` really
    moved, per product: ``{(reference, sku): quantity}``, summed from the stock moves
    (not from what the lines say) in one grouped query. References and products that
    moved nothing are left out."""
    rows = db.session.execute(
        sa.select(StockDocument.reference, Product.sku, sa.func.sum(StockMove.quantity))
        .join(StockDocument, StockDocument.id == StockMove.document_id)
        .join(Product, Product.id == StockMove.product_id)
        .where(StockDocument.kind == "delivery", StockDocument.reference.like(f"{reference_prefix}%"))
        .group_by(StockDocument.reference, Product.sku))
    return {(reference, sku): qty(moved) for reference, sku, moved in rows}
