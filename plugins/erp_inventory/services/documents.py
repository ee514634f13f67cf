"""Stock documents: receipts, deliveries, internal transfers and inventory adjustments.

A document is drafted with lines, confirmed (``ready``: a delivery then holds its stock
under its reference) and validated (``done``: its moves are written). Validating less
than asked for leaves a backorder document with the rest. States: draft, ready, done,
cancelled.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.events import emit
from core.states import lock, require_state, state_change
from plugins.erp_inventory.hookspecs import DeliveryDone, GoodsReceived, MovedLine
from plugins.erp_inventory.models import DocumentLine, Location, Product, StockDocument, Warehouse
from plugins.erp_inventory.services import reservations, stock
from plugins.erp_inventory.services.stock import qty

NUMBER_PREFIX = {"receipt": "IN", "delivery": "OUT", "internal": "INT", "adjustment": "ADJ"}
UNIT_COST = Decimal("0.0001")


def get_document(document_id: int) -> StockDocument:
    document = db.session.get(StockDocument, document_id)
    if document is None:
        raise NotFound(f"Document {document_id} not found")
    return document


def _default_locations(kind: str, warehouse_id: int, data: dict) -> tuple[int, int]:
    main = stock.stock_location(warehouse_id).id
    source, destination = data.get("source_location_id"), data.get("destination_location_id")
    if kind == "receipt":
        return stock.virtual_location("supplier").id, destination or main
    if kind == "delivery":
        return source or main, stock.virtual_location("customer").id
    if kind == "adjustment":  # the counted location is the source
        return source or main, stock.virtual_location("adjustment").id
    if destination is None:
        raise ValidationFailed({"destination_location_id": ["Say where the goods go."]})
    return source or main, destination


#: Per kind, the location(s) of the warehouse itself; the other end is virtual (suppliers,
#: customers, adjustments), except for an internal transfer's destination.
OWN_LOCATIONS = {"receipt": ("destination_location_id",), "delivery": ("source_location_id",),
                 "adjustment": ("source_location_id",), "internal": ("source_location_id",)}


def _check_locations(document: StockDocument) -> None:
    """The warehouse's own locations must be internal and belong to it."""
    for attr in OWN_LOCATIONS[document.kind]:
        location = stock.get_location(getattr(document, attr))
        if not location.is_internal or location.warehouse_id != document.warehouse_id:
            raise ValidationFailed({attr: [f"{location.name} is not a location of this warehouse."]})
    if document.kind == "internal":
        destination = stock.get_location(document.destination_location_id)
        if not destination.is_internal:
            raise ValidationFailed({"destination_location_id": [f"{destination.name} is not a warehouse location."]})
        if destination.id == document.source_location_id:
            raise ValidationFailed({"destination_location_id": ["Source and destination are the same location."]})


def create_document(data: dict) -> StockDocument:
    """Draft a receipt, delivery, internal transfer or inventory adjustment, with its lines."""
    kind = data["kind"]
    warehouse = stock.get_warehouse(data.get("warehouse_id"))
    source, destination = _default_locations(kind, warehouse.id, data)
    document = StockDocument(kind=kind, warehouse_id=warehouse.id, source_location_id=source,
                             destination_location_id=destination, reference=data.get("reference"),
                             scheduled_date=data.get("scheduled_date"), notes=data.get("notes"),
                             purchase_order_id=data.get("purchase_order_id"),
                             backorder_of_id=data.get("backorder_of_id"))
    _check_locations(document)
    db.session.add(document)
    db.session.flush()
    document.number = f"{warehouse.code}/{NUMBER_PREFIX[kind]}/{document.id:05d}"
    if not document.reference:
        document.reference = document.number
    for line in data.get("lines") or ():
        add_line(document, line)
    db.session.flush()
    return document


def update_document(document: StockDocument, data: dict) -> StockDocument:
    """Change a draft document's reference, date, notes or locations."""
    _ensure_state(document, ("draft",), "change")
    chosen = OWN_LOCATIONS[document.kind] + (("destination_location_id",) if document.kind == "internal" else ())
    for key in ("source_location_id", "destination_location_id"):
        if data.get(key) is None or data[key] == getattr(document, key):
            continue
        if key not in chosen:
            end = key.split("_")[0]
            raise ValidationFailed({key: [f"The {end} of a {document.kind} is set by its kind."]})
        if db.session.get(Location, data[key]) is None:
            raise ValidationFailed({key: [f"Location {data[key]} does not exist."]})
    for key in ("reference", "scheduled_date", "notes", "source_location_id", "destination_location_id"):
        if key in data and data[key] is not None:
            setattr(document, key, data[key])
    _check_locations(document)
    db.session.flush()
    return document


def document_lock(document: StockDocument) -> str | None:
    """Why ``document`` cannot be edited (it is no longer a draft), or None."""
    if document.state == "draft":
        return None
    return f"{document.number} is {document.state}: it cannot be changed."


def _ensure_state(document: StockDocument, states: tuple[str, ...], action: str) -> None:
    """Lock ``document`` and refuse (409 ``invalid_state``) unless it is in one of ``states``."""
    lock(document)
    require_state(document, states, action)


def _product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise ValidationFailed({"product_id": [f"Product {product_id} does not exist."]})
    if product.type == "service":
        raise ValidationFailed({"product_id": [f"{product.sku} is a service: it is not stocked."]})
    return product


def add_line(document: StockDocument, data: dict) -> DocumentLine:
    """Add a product line to a draft document (on an adjustment: the counted quantity)."""
    _ensure_state(document, ("draft",), "change")
    product = _product(data["product_id"])
    quantity = qty(data["quantity"])
    if quantity < 0 or (quantity == 0 and document.kind != "adjustment"):
        raise ValidationFailed({"quantity": ["Must be greater than 0."]})
    line = DocumentLine(product_id=product.id, quantity=quantity, unit_cost=data.get("unit_cost"),
                        purchase_line_id=data.get("purchase_line_id"))
    document.lines.append(line)
    db.session.flush()
    return line


def remove_line(document: StockDocument, line_id: int) -> None:
    """Remove a line from a draft document."""
    _ensure_state(document, ("draft",), "change")
    line = next((l for l in document.lines if l.id == line_id), None)
    if line is None:
        raise NotFound(f"Line {line_id} is not on {document.number}")
    document.lines.remove(line)
    db.session.flush()


def _demand(document: StockDocument) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in document.lines:
        totals[line.product_id] += qty(line.quantity)
    return totals


@state_change(StockDocument, "confirm", states=("draft",))
def confirm_document(document: StockDocument) -> StockDocument:
    """Make a draft document ready; a delivery then reserves what its reference does not hold yet."""
    if not document.lines:
        raise RuleViolation(f"{document.number} has no lines.", code="no_lines")
    if document.kind == "delivery":
        for product_id, wanted in sorted(_demand(document).items()):
            held = reservations.reservation_for(document.reference, product_id, document.warehouse_id)
            have = qty(held.quantity) + qty(held.backorder_quantity) if held else Decimal("0")
            if wanted > have:
                reservations.reserve_stock(document.reference, product_id, wanted - have, document.warehouse_id)
    document.state = "ready"
    db.session.flush()
    return document


@state_change(StockDocument, "cancel", states=("draft", "ready"))
def cancel_document(document: StockDocument) -> StockDocument:
    """Cancel a draft or ready document; a delivery gives back what it held."""
    if document.kind == "delivery" and document.state == "ready":
        for product_id, wanted in _demand(document).items():
            if reservations.reservation_for(document.reference, product_id, document.warehouse_id):
                reservations.release_reservation(document.reference, product_id, wanted, document.warehouse_id)
    document.state = "cancelled"
    db.session.flush()
    return document


def _done_quantities(document: StockDocument, done: dict[int, object] | None) -> dict[int, Decimal]:
    done = {int(k): qty(v) for k, v in (done or {}).items()}
    unknown = set(done) - {line.id for line in document.lines}
    if unknown:
        raise ValidationFailed({"quantities": [f"Lines {sorted(unknown)} are not on {document.number}."]})
    result = {}
    for line in document.lines:
        value = done.get(line.id, qty(line.quantity))
        if value < 0 or (document.kind != "adjustment" and value > qty(line.quantity)):
            raise ValidationFailed({"quantities": [
                f"Line {line.id}: the done quantity must be between 0 and {qty(line.quantity)}."]})
        result[line.id] = value
    return result


@state_change(StockDocument, "validate", states=("draft", "ready"))
def validate_document(document: StockDocument, done: dict[int, object] | None = None) -> StockDocument:
    """Write the document's moves and mark it done.

    ``done`` maps line ids to the quantities really moved (default: all). A delivery,
    receipt or transfer moving less leaves a backorder document (ready) with the rest.
    Emits ``on_delivery_done`` / ``on_goods_received``.
    """
    if document.state == "draft":
        confirm_document(document)
    quantities = _done_quantities(document, done)
    stock.lock_products(line.product_id for line in document.lines)
    for line in document.lines:
        db.session.refresh(line.product)
    handler = {"receipt": _receive, "delivery": _deliver, "internal": _transfer,
               "adjustment": _count}[document.kind]
    rest = [(line, qty(line.quantity) - quantities[line.id]) for line in document.lines]
    backorder = None
    if document.kind != "adjustment" and any(left > 0 for _, left in rest):
        backorder = _backorder(document, rest)
    moved = handler(document, quantities)
    document.state, document.done_at = "done", utcnow()
    db.session.flush()
    touched = {(line.product_id, document.warehouse_id) for line in document.lines}
    if document.kind == "internal":
        destination = stock.get_location(document.destination_location_id)
        touched |= {(line.product_id, destination.warehouse_id) for line in document.lines}
    for product_id, warehouse_id in sorted(touched):
        reservations.fill_backorders(product_id, warehouse_id)
        from plugins.erp_inventory.services.purchasing import check_reorder

        check_reorder(product_id, warehouse_id)
    _emit_done(document, moved, backorder)
    return document


def _backorder(document: StockDocument, rest) -> StockDocument:
    backorder = create_document({
        "kind": document.kind, "warehouse_id": document.warehouse_id, "reference": document.reference,
        "source_location_id": document.source_location_id,
        "destination_location_id": document.destination_location_id,
        "scheduled_date": document.scheduled_date, "notes": document.notes,
        "purchase_order_id": document.purchase_order_id, "backorder_of_id": document.id,
        "lines": [{"product_id": line.product_id, "quantity": left, "unit_cost": line.unit_cost,
                   "purchase_line_id": line.purchase_line_id} for line, left in rest if left > 0]})
    backorder.state = "ready"  # a delivery's reservation stays with the reference for it
    return backorder


def _receive(document, quantities):
    destination = stock.get_location(document.destination_location_id)
    source = stock.get_location(document.source_location_id)
    moved = []
    for line in document.lines:
        amount = quantities[line.id]
        line.done_quantity = amount
        if amount <= 0:
            continue
        unit_cost = Decimal(line.unit_cost if line.unit_cost is not None else line.product.cost)
        update_average_cost(line.product, amount, unit_cost)
        stock.move(line.product, source, destination, amount, unit_cost, document.id, document.reference)
        moved.append(MovedLine(line.product_id, line.product.sku, amount, unit_cost.quantize(UNIT_COST)))
    return moved


def update_average_cost(product: Product, received: Decimal, unit_cost: Decimal) -> None:
    """Moving average: (on hand x cost + received x unit cost) / (on hand + received).

    Stock at or below zero carries no value: the new cost is then the receipt's.
    """
    held = stock.on_hand(product.id)
    if held <= 0:
        product.cost = unit_cost.quantize(Decimal("0.01"))
    else:
        value = held * Decimal(product.cost) + received * unit_cost
        product.cost = (value / (held + received)).quantize(Decimal("0.01"))


def _deliver(document, quantities):
    source = stock.get_location(document.source_location_id)
    destination = stock.get_location(document.destination_location_id)
    warehouse = document.warehouse
    moved = []
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in document.lines:
        totals[line.product_id] += quantities[line.id]
        line.done_quantity = quantities[line.id]
    for product_id, amount in sorted(totals.items()):
        product = db.session.get(Product, product_id)
        used = reservations.consume(document.reference, product_id, warehouse.id, amount)
        extra = amount - used
        if extra > 0 and product.type == "stockable" and not warehouse.allow_negative_stock:
            free = stock.available(product_id, warehouse.id)
            if extra > free:
                raise RuleViolation(
                    f"{product.sku}: {amount} to deliver but only {used} reserved and {max(free, 0)} "
                    f"free in {warehouse.code}.", code="insufficient_stock",
                    details={"product_id": product_id, "available": str(free), "requested": str(extra)})
        if amount > 0:
            stock.ensure_can_take(product, source, amount)
            stock.move(product, source, destination, amount, None, document.id, document.reference)
            moved.append(MovedLine(product_id, product.sku, amount, Decimal(product.cost).quantize(UNIT_COST)))
    return moved


def _transfer(document, quantities):
    source = stock.get_location(document.source_location_id)
    destination = stock.get_location(document.destination_location_id)
    leaves = source.warehouse_id != destination.warehouse_id
    for line in document.lines:
        amount = line.done_quantity = quantities[line.id]
        if amount <= 0:
            continue
        product = line.product
        stock.ensure_can_take(product, source, amount)
        if leaves and product.type == "stockable" and not source.warehouse.allow_negative_stock:
            free = stock.available(product.id, source.warehouse_id)
            if amount > free:
                raise RuleViolation(
                    f"{product.sku}: only {max(free, 0)} free in {source.warehouse.code} (the rest is reserved).",
                    code="insufficient_stock", details={"product_id": product.id, "available": str(free)})
        stock.move(product, source, destination, amount, None, document.id, document.reference)
    return []


def _count(document, quantities):
    location = stock.get_location(document.source_location_id)
    adjustment = stock.get_location(document.destination_location_id)
    for line in document.lines:
        counted = line.done_quantity = quantities[line.id]
        if counted < 0:
            raise ValidationFailed({"quantities": [f"Line {line.id}: a count cannot be negative."]})
        difference = counted - stock.location_quantity(line.product_id, location.id)
        if difference > 0:
            stock.move(line.product, adjustment, location, difference, None, document.id, document.reference)
        elif difference < 0:
            stock.move(line.product, location, adjustment, -difference, None, document.id, document.reference)
            reservations.fit_reservations(line.product_id, document.warehouse_id)
    return []


def _emit_done(document: StockDocument, moved: list[MovedLine], backorder: StockDocument | None) -> None:
    if document.kind == "delivery":
        emit("on_delivery_done", DeliveryDone(
            delivery_id=document.id, number=document.number, reference=document.reference,
            warehouse_id=document.warehouse_id, lines=tuple(moved),
            backorder_id=backorder.id if backorder else None), key=f"inventory:delivery:{document.id}:done")
    elif document.kind == "receipt":
        emit("on_goods_received", GoodsReceived(
            receipt_id=document.id, number=document.number, reference=document.reference,
            warehouse_id=document.warehouse_id, purchase_order_id=document.purchase_order_id,
            lines=tuple(moved)), key=f"inventory:receipt:{document.id}:done")


# --- what other plugins call ---


def create_delivery(reference: str, lines: list[dict], warehouse_id: int | None = None) -> StockDocument:
    """Create and confirm a delivery for ``reference`` (an order number).

    ``lines`` are ``{"product_id" or "sku", "quantity"}``. Stock the reference already
    reserved is used; the rest is reserved now (409 ``insufficient_stock`` when it cannot
    be, unless backorders are allowed).
    """
    if not (reference or "").strip():
        raise ValidationFailed({"reference": ["A delivery needs a reference."]})
    resolved = []
    for line in lines:
        product_id = line.get("product_id")
        if product_id is None and line.get("sku"):
            product_id = db.session.scalar(sa.select(Product.id).where(Product.sku == str(line["sku"]).upper()))
            if product_id is None:
                raise ValidationFailed({"lines": [f"No product with SKU {line['sku']}."]})
        resolved.append({"product_id": product_id, "quantity": line["quantity"]})
    document = create_document({"kind": "delivery", "warehouse_id": warehouse_id,
                                "reference": reference.strip(), "lines": resolved})
    return confirm_document(document)


@dataclass(frozen=True)
class DeliveryStatus:
    """Where the deliveries of a reference stand.

    ``state``: ``waiting`` (nothing shipped, some document draft or ready),
    ``partially_delivered``, ``delivered`` or ``cancelled``.
    """

    reference: str
    state: str
    ordered: Decimal
    delivered: Decimal
    documents: tuple[dict, ...]


def delivery_status(reference: str) -> DeliveryStatus | None:
    """The delivery status of ``reference`` (an order number), or None when it has no delivery."""
    return delivery_statuses([reference]).get(reference)


def delivery_statuses(references: list[str]) -> dict[str, DeliveryStatus]:
    """The delivery status of each reference that has a delivery, in two queries whatever
    their number (a list of orders shows its delivery states with it)."""
    found: dict[str, list[StockDocument]] = {}
    for document in db.session.scalars(sa.select(StockDocument).where(
            StockDocument.kind == "delivery", StockDocument.reference.in_(set(references)))
            .options(sa.orm.selectinload(StockDocument.lines)).order_by(StockDocument.id)):
        found.setdefault(document.reference, []).append(document)
    return {reference: _delivery_status(reference, documents) for reference, documents in found.items()}


def _delivery_status(reference: str, documents: list[StockDocument]) -> DeliveryStatus:
    originals = [d for d in documents if d.backorder_of_id is None and d.state != "cancelled"]
    ordered = sum((qty(l.quantity) for d in originals for l in d.lines), Decimal("0"))
    delivered = sum((qty(l.done_quantity) for d in documents if d.state == "done" for l in d.lines), Decimal("0"))
    open_docs = any(d.state in ("draft", "ready") for d in documents)
    if not originals:
        state = "cancelled"
    elif delivered == 0:
        state = "waiting" if open_docs else "cancelled"
    elif open_docs or delivered < ordered:
        state = "partially_delivered"
    else:
        state = "delivered"
    return DeliveryStatus(reference, state, ordered, delivered, tuple(
        {"id": d.id, "number": d.number, "state": d.state, "done_at": d.done_at} for d in documents))


def set_stock_level(data: dict) -> StockDocument:
    """Count a product in a warehouse's main location (an initial stock import row).

    ``data``: ``sku``, ``warehouse`` (code), ``quantity``, optional ``unit_cost`` (the cost
    of what is added, for the moving average). Done through an inventory adjustment.
    """
    product = db.session.scalar(sa.select(Product).where(Product.sku == data["sku"].strip().upper()))
    if product is None:
        raise ValidationFailed({"sku": [f"No product with SKU {data['sku']}."]})
    warehouse = db.session.scalar(sa.select(Warehouse).where(Warehouse.code == data["warehouse"].strip().upper()))
    if warehouse is None:
        raise ValidationFailed({"warehouse": [f"No warehouse with code {data['warehouse']}."]})
    if data.get("unit_cost") is not None:
        added = qty(data["quantity"]) - stock.on_hand(product.id, warehouse.id)
        if added > 0:
            update_average_cost(product, added, Decimal(data["unit_cost"]))
    document = create_document({"kind": "adjustment", "warehouse_id": warehouse.id, "reference": "Initial stock",
                                "lines": [{"product_id": product.id, "quantity": data["quantity"]}]})
    return validate_document(document)
