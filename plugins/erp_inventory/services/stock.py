"""Where stock is and how it moves: settings, warehouses, locations, moves and quantities.

Every quantity change is a ``StockMove``; ``Quant`` rows cache on-hand per product and
location and are changed in the same statement as the move is written. Operations that
read a quantity and then change it first lock the product (``lock_product``), so two
transactions never both spend the same last units.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound, RuleViolation, ValidationFailed
from core.records import ensure_unique
from core.states import lock_all
from plugins.erp_inventory.models import (OPEN_PO_STATES, Location, Product, PurchaseLine,
                                          PurchaseOrder, Quant, Reservation, Settings,
                                          StockMove, Warehouse)

ZERO = Decimal("0.000")
VIRTUAL_NAMES = {"supplier": "Partners/Suppliers", "customer": "Partners/Customers",
                 "adjustment": "Virtual/Inventory adjustment"}


def qty(value) -> Decimal:
    """A quantity as a Decimal with three places (what the columns store)."""
    return Decimal(value or 0).quantize(Decimal("0.001"))


# --- settings ---


def get_settings() -> Settings:
    """The inventory settings (defaults, not stored, until someone saves them)."""
    return db.session.get(Settings, 1) or Settings(id=1, allow_backorders=False, currency="EUR")


def update_settings(data: dict) -> Settings:
    """Change the inventory settings (allow backorders, currency)."""
    settings = db.session.get(Settings, 1)
    if settings is None:
        settings = Settings(id=1, allow_backorders=False, currency="EUR")
        db.session.add(settings)
    for key in ("allow_backorders", "currency"):
        if key in data:
            setattr(settings, key, data[key])
    db.session.flush()
    return settings


# --- warehouses and locations ---


def create_warehouse(data: dict) -> Warehouse:
    """Create a warehouse and its main stock location ``<code>/Stock``."""
    data = {k: v for k, v in data.items() if k in ("code", "name", "address", "allow_negative_stock", "active")}
    data["code"] = data["code"].strip().upper()
    code = data["code"]
    ensure_unique(Warehouse.code, code, None, "code", f"Code {code} is already used by warehouse {{id}}.")
    ensure_unique(Location.name, f"{code}/Stock", None, "code",
                  f"A location named {code}/Stock already exists (location {{id}}).")
    warehouse = Warehouse(**data)
    db.session.add(warehouse)
    db.session.flush()
    db.session.add(Location(name=f"{warehouse.code}/Stock", kind="internal", warehouse_id=warehouse.id))
    db.session.flush()
    return warehouse


def update_warehouse(warehouse: Warehouse, data: dict) -> Warehouse:
    """Change a warehouse's name, address or negative-stock setting (the code stays)."""
    if "code" in data and data["code"].strip().upper() != warehouse.code:
        raise ValidationFailed({"code": ["The code of a warehouse cannot change (it names its locations and documents)."]})
    for key in ("name", "address", "allow_negative_stock", "active"):
        if key in data:
            setattr(warehouse, key, data[key])
    db.session.flush()
    return warehouse


def stock_location(warehouse_id: int) -> Location:
    """The warehouse's main stock location (the first internal one, made with it)."""
    location = db.session.scalar(sa.select(Location).where(
        Location.warehouse_id == warehouse_id, Location.kind == "internal").order_by(Location.id).limit(1))
    if location is None:
        raise NotFound(f"Warehouse {warehouse_id} has no stock location")
    return location


def default_warehouse() -> Warehouse:
    """The first active warehouse; refused when there is none."""
    warehouse = db.session.scalar(sa.select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.id).limit(1))
    if warehouse is None:
        raise RuleViolation("No warehouse yet: create one first.", code="no_warehouse")
    return warehouse


def get_warehouse(warehouse_id: int | None) -> Warehouse:
    """The warehouse by id (``None``: the default one), or 404."""
    if warehouse_id is None:
        return default_warehouse()
    warehouse = db.session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"Warehouse {warehouse_id} not found")
    return warehouse


def create_location(data: dict) -> Location:
    """Create an internal location (a shelf, a zone) in a warehouse."""
    warehouse = get_warehouse(data.get("warehouse_id"))
    name = data["name"].strip()
    if not name.startswith(f"{warehouse.code}/"):
        name = f"{warehouse.code}/{name}"
    ensure_unique(Location.name, name, None, "name", f"A location named {name} already exists (location {{id}}).")
    location = Location(name=name, kind="internal", warehouse_id=warehouse.id, active=data.get("active", True))
    db.session.add(location)
    db.session.flush()
    return location


def location_lock(location: Location) -> str | None:
    """Why ``location`` cannot be edited (a virtual one: suppliers, customers...), or None."""
    return None if location.is_internal else f"{location.name} is a virtual location and cannot be changed."


def update_location(location: Location, data: dict) -> Location:
    """Rename or (de)activate an internal location; virtual locations do not change."""
    if reason := location_lock(location):
        raise RuleViolation(reason, code="virtual_location")
    if "warehouse_id" in data and data["warehouse_id"] != location.warehouse_id:
        raise ValidationFailed({"warehouse_id": ["A location cannot move to another warehouse."]})
    if "name" in data:
        ensure_unique(Location.name, data["name"].strip(), location.id, "name",
                      "Another location has this name (location {id}).")
        location.name = data["name"].strip()
    if "active" in data:
        location.active = data["active"]
    db.session.flush()
    return location


def virtual_location(kind: str) -> Location:
    """The virtual location of suppliers, customers or inventory adjustments (made on first use)."""
    location = db.session.scalar(sa.select(Location).where(
        Location.kind == kind, Location.warehouse_id.is_(None)).order_by(Location.id).limit(1))
    if location is None:
        location = Location(name=VIRTUAL_NAMES[kind], kind=kind)
        db.session.add(location)
        db.session.flush()
    return location


def ensure_virtual_locations() -> None:
    """Create the virtual locations if they are missing (at install)."""
    for kind in VIRTUAL_NAMES:
        virtual_location(kind)


def get_location(location_id: int) -> Location:
    location = db.session.get(Location, location_id)
    if location is None:
        raise NotFound(f"Location {location_id} not found")
    return location


# --- locking and moving ---


def lock_products(product_ids) -> list[Product]:
    """Lock the rows of these products until the transaction ends (``core.states.lock_all``:
    ids sorted, no deadlock): whoever holds them reads and changes their stock alone."""
    return lock_all(Product, product_ids)


def lock_product(product_id: int) -> Product:
    """Lock one product (see ``lock_products``) and return it, fresh from the database."""
    [product] = lock_products([product_id]) or [None]
    if product is None:
        raise NotFound(f"Product {product_id} not found")
    return product


def _bump_quant(product_id: int, location_id: int, delta: Decimal) -> None:
    updated = db.session.execute(sa.update(Quant).where(
        Quant.product_id == product_id, Quant.location_id == location_id)
        .values(quantity=Quant.quantity + delta).execution_options(synchronize_session=False)).rowcount
    if not updated:
        db.session.add(Quant(product_id=product_id, location_id=location_id, quantity=delta))
        db.session.flush()


def move(product: Product, source: Location, destination: Location, quantity: Decimal,
         unit_cost: Decimal | None = None, document_id: int | None = None,
         reference: str | None = None) -> StockMove:
    """Move ``quantity`` of a product between two locations: the only way stock changes.

    The caller holds the product's lock and has checked its business rules.
    """
    quantity = qty(quantity)
    if quantity <= 0:
        raise ValidationFailed({"quantity": ["Must be greater than 0."]})
    if source.id == destination.id:
        raise ValidationFailed({"destination_location_id": ["Source and destination are the same location."]})
    stock_move = StockMove(product_id=product.id, source_location_id=source.id,
                           destination_location_id=destination.id, quantity=quantity,
                           unit_cost=product.cost if unit_cost is None else unit_cost,
                           document_id=document_id, reference=reference)
    db.session.add(stock_move)
    _bump_quant(product.id, source.id, -quantity)
    _bump_quant(product.id, destination.id, quantity)
    db.session.flush()
    return stock_move


def ensure_can_take(product: Product, location: Location, quantity: Decimal) -> None:
    """Refuse taking more than a location holds, unless its warehouse allows negative stock."""
    if not location.is_internal or product.type == "consumable":
        return
    if location.warehouse is not None and location.warehouse.allow_negative_stock:
        return
    held = location_quantity(product.id, location.id)
    if held < quantity:
        raise RuleViolation(
            f"Only {held} of {product.sku} in {location.name}: moving {qty(quantity)} would make stock negative.",
            code="negative_stock", details={"product_id": product.id, "location_id": location.id,
                                            "on_hand": str(held), "requested": str(qty(quantity))})


# --- quantities (always read from the database, never from objects in memory) ---


def location_quantity(product_id: int, location_id: int) -> Decimal:
    """On hand of a product in one location."""
    return qty(db.session.scalar(sa.select(Quant.quantity).where(
        Quant.product_id == product_id, Quant.location_id == location_id)))


def on_hand(product_id: int, warehouse_id: int | None = None) -> Decimal:
    """On hand of a product in a warehouse's internal locations (all warehouses: ``None``)."""
    stmt = (sa.select(sa.func.coalesce(sa.func.sum(Quant.quantity), 0))
            .join(Location, Location.id == Quant.location_id)
            .where(Quant.product_id == product_id, Location.kind == "internal"))
    if warehouse_id is not None:
        stmt = stmt.where(Location.warehouse_id == warehouse_id)
    return qty(db.session.scalar(stmt))


def reserved(product_id: int, warehouse_id: int | None = None) -> Decimal:
    """Quantity of a product held by active reservations."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(Reservation.quantity), 0)).where(
        Reservation.product_id == product_id, Reservation.state == "active")
    if warehouse_id is not None:
        stmt = stmt.where(Reservation.warehouse_id == warehouse_id)
    return qty(db.session.scalar(stmt))


def available(product_id: int, warehouse_id: int | None = None) -> Decimal:
    """On hand minus reserved."""
    return on_hand(product_id, warehouse_id) - reserved(product_id, warehouse_id)


def incoming(product_id: int, warehouse_id: int | None = None) -> Decimal:
    """Quantity still expected from confirmed purchase orders."""
    stmt = (sa.select(sa.func.coalesce(sa.func.sum(PurchaseLine.quantity - PurchaseLine.received_quantity), 0))
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseLine.order_id)
            .where(PurchaseLine.product_id == product_id, PurchaseOrder.state.in_(OPEN_PO_STATES)))
    if warehouse_id is not None:
        stmt = stmt.where(PurchaseOrder.warehouse_id == warehouse_id)
    return qty(db.session.scalar(stmt))


def quant_mismatches() -> list[dict]:
    """Quants that differ from the sum of done moves (in minus out); empty when all agree.

    What ``tandem inventory check`` reports. Computed in SQL, per product and location.
    """
    ins = sa.select(StockMove.product_id.label("product_id"), StockMove.destination_location_id.label("location_id"),
                    StockMove.quantity.label("delta"))
    outs = sa.select(StockMove.product_id, StockMove.source_location_id, -StockMove.quantity)
    ledger = sa.union_all(ins, outs).subquery()
    moved = (sa.select(ledger.c.product_id, ledger.c.location_id, sa.func.sum(ledger.c.delta).label("moved"))
             .group_by(ledger.c.product_id, ledger.c.location_id).subquery())
    left = (sa.select(Quant.product_id, Quant.location_id, Quant.quantity,
                      sa.func.coalesce(moved.c.moved, 0).label("moved"))
            .outerjoin(moved, sa.and_(moved.c.product_id == Quant.product_id,
                                      moved.c.location_id == Quant.location_id)))
    right = (sa.select(moved.c.product_id, moved.c.location_id, sa.literal(0).label("quantity"), moved.c.moved)
             .outerjoin(Quant, sa.and_(moved.c.product_id == Quant.product_id,
                                       moved.c.location_id == Quant.location_id))
             .where(Quant.id.is_(None)))
    problems = []
    for product_id, location_id, cached, moved_qty in db.session.execute(sa.union_all(left, right)):
        if qty(cached) != qty(moved_qty):
            problems.append({"product_id": product_id, "location_id": location_id,
                             "quant": qty(cached), "moves": qty(moved_qty)})
    return problems
