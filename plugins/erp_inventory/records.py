"""How inventory records are listed, searched, filtered and edited (see ``core.records``)."""
import sqlalchemy as sa

from core.records import Column, FormField, RecordType
from plugins.erp_inventory import services
from plugins.erp_inventory.models import (DOCUMENT_KINDS, PRODUCT_TYPES, UNITS,
                                          DocumentLine, Location, Product, PurchaseOrder, ReorderRule, StockDocument,
                                          Supplier, SupplierPrice, Warehouse)
from plugins.erp_inventory.schemas import (DocumentSchema, LocationSchema, ProductSchema,
                                           PurchaseOrderSchema, ReorderRuleSchema, SupplierPriceSchema,
                                           InventorySupplierSchema, WarehouseSchema)


def _states(states):
    return lambda: [(s, s.replace("_", " ")) for s in states]


PRODUCT = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="product", plural="products", model=Product, schema=ProductSchema,
    create=services.create_product, update=services.update_product, title_attr="name", choice_label=("sku", "name"),
    choosable=Product.active.is_(True),
    columns=(Column("sku", "SKU", sort="sku", link=True), Column("name", "Name", sort="name"),
             Column("category", "Category", sort="category"), Column("type", "Type"),
             Column("sale_price", "Sale price", sort="sale_price"), Column("cost", "Average cost")),
    form=(FormField("sku", "SKU", required=True), FormField("name", "Name", required=True),
          FormField("description", "Description", "textarea"), FormField("category", "Category"),
          FormField("type", "Type", "select", options=lambda: [(t, t) for t in PRODUCT_TYPES]),
          FormField("unit", "Unit of measure", "select", options=lambda: [(u, u) for u in UNITS]),
          FormField("sale_price", "Sale price"), FormField("cost", "Cost", help="Updated by receipts (moving average)"),
          FormField("barcode", "Barcode"), FormField("active", "Active", "checkbox")),
    search=(Product.sku, Product.name, Product.barcode),
    sortable={"id": Product.id, "sku": Product.sku, "name": Product.name,
              "category": Product.category, "sale_price": Product.sale_price},
    filters={"type": Product.type, "category": Product.category},
    default_sort="name",
    detail_fields=(("sku", "SKU"), ("name", "Name"), ("description", "Description"),
                   ("category", "Category"), ("type", "Type"), ("unit", "Unit"),
                   ("sale_price", "Sale price"), ("cost", "Average cost"), ("barcode", "Barcode"),
                   ("active", "Active")),
)

WAREHOUSE = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="warehouse", plural="warehouses", model=Warehouse,
    schema=WarehouseSchema, create=services.create_warehouse, update=services.update_warehouse, choice_label=("code", "name"),
    columns=(Column("code", "Code", sort="code", link=True), Column("name", "Name", sort="name"),
             Column("allow_negative_stock", "Negative stock allowed"), Column("active", "Active")),
    form=(FormField("code", "Code", required=True, help="Names its locations and documents (WH1/Stock)"),
          FormField("name", "Name", required=True), FormField("address", "Address", "textarea"),
          FormField("allow_negative_stock", "Allow negative stock", "checkbox"),
          FormField("active", "Active", "checkbox")),
    search=(Warehouse.code, Warehouse.name), sortable={"id": Warehouse.id, "code": Warehouse.code, "name": Warehouse.name},
    default_sort="code", title_attr="name",
    detail_fields=(("code", "Code"), ("name", "Name"), ("address", "Address"),
                   ("allow_negative_stock", "Negative stock allowed"), ("active", "Active")),
)

LOCATION = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="location", plural="locations", model=Location,
    schema=LocationSchema, create=services.create_location, update=services.update_location,
    locked=services.location_lock,
    columns=(Column("name", "Name", sort="name", link=True), Column("kind", "Kind", sort="kind", badge=True),
             Column("active", "Active")),
    form=(FormField("name", "Name", required=True, help="Shelf or zone; the warehouse code is added in front"),
          FormField("warehouse_id", "Warehouse", required=True, relation="inventory.warehouse"),
          FormField("active", "Active", "checkbox")),
    search=(Location.name,), sortable={"id": Location.id, "name": Location.name, "kind": Location.kind},
    filters={"kind": Location.kind, "warehouse_id": Location.warehouse_id}, default_sort="name",
    detail_fields=(("name", "Name"), ("kind", "Kind"), ("warehouse_id", "Warehouse"), ("active", "Active")),
)

SUPPLIER = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="supplier", plural="suppliers", model=Supplier,
    schema=InventorySupplierSchema, create=services.create_supplier, update=services.update_supplier,
    columns=(Column("name", "Name", sort="name", link=True), Column("email", "Email"),
             Column("currency", "Currency"), Column("lead_time_days", "Lead time (days)", sort="lead_time_days")),
    form=(FormField("name", "Name", required=True), FormField("email", "Email", "email"),
          FormField("phone", "Phone"), FormField("currency", "Currency", help="EUR, USD..."),
          FormField("lead_time_days", "Lead time (days)", "number"), FormField("active", "Active", "checkbox")),
    search=(Supplier.name, Supplier.email),
    sortable={"id": Supplier.id, "name": Supplier.name, "lead_time_days": Supplier.lead_time_days},
    default_sort="name",
    detail_fields=(("name", "Name"), ("email", "Email"), ("phone", "Phone"), ("currency", "Currency"),
                   ("lead_time_days", "Lead time (days)"), ("active", "Active")),
)

SUPPLIER_PRICE = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="supplier_price", plural="supplier_prices",
    model=SupplierPrice, schema=SupplierPriceSchema, create=services.create_supplier_price,
    update=services.update_supplier_price, title_attr="id",
    columns=(Column("id", "#", sort="id", link=True), Column("supplier_id", "Supplier", sort="supplier_id"),
             Column("product_id", "Product", sort="product_id"), Column("price", "Price", sort="price"),
             Column("currency", "Currency"), Column("min_quantity", "Minimum quantity"),
             Column("lead_time_days", "Lead time (days)"), Column("preferred", "Preferred")),
    form=(FormField("supplier_id", "Supplier", required=True, relation="inventory.supplier"),
          FormField("product_id", "Product", required=True, relation="inventory.product"),
          FormField("price", "Price", required=True), FormField("currency", "Currency"),
          FormField("min_quantity", "Minimum quantity"), FormField("lead_time_days", "Lead time (days)", "number"),
          FormField("preferred", "Preferred supplier for this product", "checkbox")),
    sortable={"id": SupplierPrice.id, "supplier_id": SupplierPrice.supplier_id,
              "product_id": SupplierPrice.product_id, "price": SupplierPrice.price},
    filters={"supplier_id": SupplierPrice.supplier_id, "product_id": SupplierPrice.product_id},
)

REORDER_RULE = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="reorder_rule", plural="reorder_rules",
    model=ReorderRule, schema=ReorderRuleSchema, create=services.create_reorder_rule,
    update=services.update_reorder_rule, title_attr="id",
    columns=(Column("id", "#", sort="id", link=True), Column("product_id", "Product", sort="product_id"),
             Column("warehouse_id", "Warehouse"), Column("minimum", "Minimum"), Column("maximum", "Maximum"),
             Column("below", "Below minimum")),
    form=(FormField("product_id", "Product", required=True, relation="inventory.product"),
          FormField("warehouse_id", "Warehouse", required=True, relation="inventory.warehouse"),
          FormField("minimum", "Minimum", required=True), FormField("maximum", "Maximum", required=True)),
    sortable={"id": ReorderRule.id, "product_id": ReorderRule.product_id},
    filters={"warehouse_id": ReorderRule.warehouse_id, "product_id": ReorderRule.product_id},
)

DOCUMENT = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="document", plural="documents", model=StockDocument,
    schema=DocumentSchema, create=services.create_document, update=services.update_document, title_attr="number",
    locked=services.document_lock,
    load=lambda: (sa.orm.selectinload(StockDocument.lines).selectinload(DocumentLine.product),),
    columns=(Column("number", "Number", sort="number", link=True), Column("kind", "Kind", badge=True),
             Column("reference", "Reference", sort="reference"), Column("state", "State", sort="state", badge=True),
             Column("scheduled_date", "Scheduled", sort="scheduled_date"), Column("done_at", "Done")),
    form=(FormField("kind", "Kind", "select", required=True, options=_states(DOCUMENT_KINDS)),
          FormField("warehouse_id", "Warehouse", required=True, relation="inventory.warehouse"),
          FormField("reference", "Reference", help="The order it is for; the number when empty"),
          FormField("source_location_id", "From location", relation="inventory.location",
                    help="Default: the warehouse's stock (or suppliers for a receipt)"),
          FormField("destination_location_id", "To location", relation="inventory.location",
                    help="Needed for an internal transfer"),
          FormField("scheduled_date", "Scheduled date", "date"), FormField("notes", "Notes", "textarea")),
    search=(StockDocument.number, StockDocument.reference),
    sortable={"id": StockDocument.id, "number": StockDocument.number, "reference": StockDocument.reference,
              "state": StockDocument.state, "scheduled_date": StockDocument.scheduled_date},
    filters={"kind": StockDocument.kind, "state": StockDocument.state, "warehouse_id": StockDocument.warehouse_id},
    detail_fields=(("number", "Number"), ("kind", "Kind"), ("state", "State"), ("reference", "Reference"),
                   ("scheduled_date", "Scheduled"), ("done_at", "Done at"), ("notes", "Notes")),
)

PURCHASE_ORDER = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="purchase_order", plural="purchase_orders",
    model=PurchaseOrder, schema=PurchaseOrderSchema, create=services.create_purchase_order,
    update=services.update_purchase_order, title_attr="number", locked=services.purchase_order_lock,
    columns=(Column("number", "Number", sort="number", link=True), Column("supplier_id", "Supplier", sort="supplier_id"),
             Column("state", "State", sort="state", badge=True), Column("expected_date", "Expected", sort="expected_date"),
             Column("currency", "Currency"), Column("total", "Total")),
    form=(FormField("supplier_id", "Supplier", required=True, relation="inventory.supplier"),
          FormField("warehouse_id", "Warehouse", required=True, relation="inventory.warehouse"),
          FormField("expected_date", "Expected date", "date"), FormField("notes", "Notes", "textarea")),
    search=(PurchaseOrder.number,),
    sortable={"id": PurchaseOrder.id, "number": PurchaseOrder.number, "state": PurchaseOrder.state,
              "expected_date": PurchaseOrder.expected_date, "supplier_id": PurchaseOrder.supplier_id},
    filters={"state": PurchaseOrder.state, "supplier_id": PurchaseOrder.supplier_id,
             "warehouse_id": PurchaseOrder.warehouse_id},
    detail_fields=(("number", "Number"), ("state", "State"), ("currency", "Currency"),
                   ("expected_date", "Expected"), ("total", "Total"), ("notes", "Notes")),
)

RECORD_TYPES = (PRODUCT, WAREHOUSE, LOCATION, SUPPLIER, SUPPLIER_PRICE, REORDER_RULE, DOCUMENT, PURCHASE_ORDER)
