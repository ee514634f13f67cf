"""Demo data: a distributor with two warehouses, a few hundred products, suppliers and orders."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from plugins.erp_inventory import services

CATEGORIES = {
    "Office": ["Desk", "Chair", "Lamp", "Shelf", "Cabinet", "Whiteboard"],
    "Network": ["Switch", "Router", "Cable", "Access point", "Patch panel", "Firewall"],
    "Storage": ["Box", "Crate", "Pallet", "Bin", "Rack", "Tote"],
    "Cleaning": ["Mop", "Bucket", "Detergent", "Glove", "Brush", "Sponge"],
    "Safety": ["Helmet", "Vest", "Goggles", "Boot", "Extinguisher", "First aid kit"],
}
GRADES = ("Basic", "Standard", "Pro", "Compact", "XL", "Eco", "Heavy", "Mini", "Max")
SUPPLIERS = ("Northwind Supply", "Contoso Wholesale", "Fabrikam Parts", "Tailspin Goods", "Litware Depot")


def load(progress) -> None:
    """Fill inventory with deterministic demo records (seeded random)."""
    rng = random.Random(5)
    main = services.create_warehouse({"code": "MAIN", "name": "Main warehouse", "address": "1 Dock Road"})
    east = services.create_warehouse({"code": "EAST", "name": "East depot", "address": "40 Harbour Lane"})
    progress(2)
    for warehouse in (main, east):
        for shelf in ("A", "B"):
            services.create_location({"warehouse_id": warehouse.id, "name": f"Shelf {shelf}"})
    suppliers = [services.create_supplier({"name": name, "email": f"orders@{name.split()[0].lower()}.example",
                                           "currency": "EUR", "lead_time_days": rng.randint(3, 21)})
                 for name in SUPPLIERS]
    progress(len(suppliers))
    products, n = [], 0
    for category, items in CATEGORIES.items():
        for item in items:
            for grade in GRADES:
                n += 1
                cost = Decimal(rng.randint(200, 30000)) / 100
                products.append(services.create_product({
                    "sku": f"{category[:3].upper()}-{n:04d}", "name": f"{item} {grade}",
                    "category": category, "type": "stockable", "unit": "unit", "cost": cost,
                    "sale_price": (cost * Decimal("1.6")).quantize(Decimal("0.01"))}))
                progress(1)
    for product in products:
        for supplier in rng.sample(suppliers, 2):
            services.create_supplier_price({
                "supplier_id": supplier.id, "product_id": product.id,
                "price": (product.cost * Decimal(rng.choice(("0.95", "1.00", "1.05")))).quantize(Decimal("0.01")),
                "min_quantity": rng.choice((1, 5, 10)), "lead_time_days": supplier.lead_time_days,
                "preferred": rng.random() < 0.5})
        for warehouse in (main, east):
            quantity = rng.choice((0, 5, 12, 20, 40, 80))
            if quantity:
                services.set_stock_level({"sku": product.sku, "warehouse": warehouse.code,
                                          "quantity": quantity, "unit_cost": product.cost})
            if rng.random() < 0.4:
                minimum = rng.choice((5, 10, 15))
                services.create_reorder_rule({"product_id": product.id, "warehouse_id": warehouse.id,
                                              "minimum": minimum, "maximum": minimum * 4})
        progress(1)
    today = dt.date.today()
    for i, state in enumerate(("draft", "confirmed", "confirmed", "partially_received", "received", "cancelled")):
        supplier = suppliers[i % len(suppliers)]
        order = services.create_purchase_order({
            "supplier_id": supplier.id, "warehouse_id": (main, east)[i % 2].id,
            "expected_date": today + dt.timedelta(days=rng.randint(-10, 20)),
            "lines": [{"product_id": p.id, "quantity": rng.choice((10, 20, 50))} for p in rng.sample(products, 4)]})
        if state != "draft" and state != "cancelled":
            services.confirm_purchase_order(order)
        if state == "partially_received":
            services.receive_purchase_order(order, {order.lines[0].id: order.lines[0].quantity})
        elif state == "received":
            services.receive_purchase_order(order)
        elif state == "cancelled":
            services.cancel_purchase_order(order)
        progress(1)
    for i, product in enumerate(rng.sample(products, 12)):
        free = services.available(product.id, main.id)
        if free >= 2:
            services.create_delivery(f"SO-{1000 + i}", [{"product_id": product.id, "quantity": 2}], main.id)
            progress(1)
    services.replenish()
