"""CSV import and export of products and stock levels (through ``core.csvio``).

Imports are all-or-nothing with a report of every bad row; exports are formula-safe.
"""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from core.csvio import ImportReport, attr_columns, csv_response, import_csv, to_csv
from core.db import db
from core.records import import_records
from plugins.erp_inventory import services
from plugins.erp_inventory.models import Product
from plugins.erp_inventory.records import PRODUCT
from plugins.erp_inventory.reports import stock_levels_query
from plugins.erp_inventory.schemas import StockLineImportSchema

PRODUCT_COLUMNS = ("sku", "name", "description", "category", "unit", "type", "sale_price", "cost",
                   "barcode", "active")
STOCK_COLUMNS = ("sku", "warehouse_code", "on_hand", "reserved", "available", "average_cost", "value")


def import_products(text: str, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Create one product per CSV row (headers: product fields and custom fields, as every
    record type's import: ``core.records.import_records``); nothing when a row is bad."""
    return import_records(PRODUCT, text, progress=progress)


def import_stock(text: str, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Set initial stock levels: columns sku, warehouse (code), quantity, unit_cost."""
    return import_csv(text, StockLineImportSchema(), services.set_stock_level,
                      mapping={"warehouse_code": "warehouse", "on_hand": "quantity",
                               "average_cost": "unit_cost"}, progress=progress)


def _products():
    return db.session.scalars(sa.select(Product).order_by(Product.sku))


def products_csv() -> str:
    """Every product as CSV (the import's columns)."""
    return to_csv(attr_columns(*PRODUCT_COLUMNS), _products())


def products_download():
    return csv_response("products.csv", attr_columns(*PRODUCT_COLUMNS), _products())


def _stock_rows():
    return (dict(row) for row in db.session.execute(stock_levels_query()).mappings())


def stock_csv() -> str:
    """Stock levels per product and warehouse as CSV (importable back: sku, warehouse_code, on_hand)."""
    return to_csv(attr_columns(*STOCK_COLUMNS), _stock_rows())


def stock_download():
    return csv_response("stock-levels.csv", attr_columns(*STOCK_COLUMNS),
                        _stock_rows())
