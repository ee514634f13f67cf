"""How inventory records are listed, searched, filtered and edited (see ``core.records``)."""
from core.records import Column, FormField, RecordType
from plugins.erp_inventory import services
from plugins.erp_inventory.models import PRODUCT_TYPES, UNITS, Product
from plugins.erp_inventory.schemas import ProductSchema

PRODUCT = RecordType(
    plugin="inventory", blueprint="erp_inventory", name="product", plural="products", model=Product, schema=ProductSchema,
    create=services.create_product, update=services.update_product, title_attr="name",
    columns=(Column("sku", "SKU", sort="sku", link=True), Column("name", "Name", sort="name"),
             Column("category", "Category", sort="category"), Column("type", "Type"),
             Column("sale_price", "Sale price", sort="sale_price"), Column("cost", "Cost")),
    form=(FormField("sku", "SKU", required=True), FormField("name", "Name", required=True),
          FormField("description", "Description", "textarea"), FormField("category", "Category"),
          FormField("type", "Type", "select", options=lambda: [(t, t) for t in PRODUCT_TYPES]),
          FormField("unit", "Unit of measure", "select", options=lambda: [(u, u) for u in UNITS]),
          FormField("sale_price", "Sale price"), FormField("cost", "Cost"),
          FormField("barcode", "Barcode"), FormField("active", "Active", "checkbox")),
    search=(Product.sku, Product.name, Product.barcode),
    sortable={"id": Product.id, "sku": Product.sku, "name": Product.name,
              "category": Product.category, "sale_price": Product.sale_price},
    filters={"type": Product.type, "category": Product.category},
    default_sort="name",
    detail_fields=(("sku", "SKU"), ("name", "Name"), ("description", "Description"),
                   ("category", "Category"), ("type", "Type"), ("unit", "Unit"),
                   ("sale_price", "Sale price"), ("cost", "Cost"), ("barcode", "Barcode"),
                   ("active", "Active")),
)
