"""How finance plugs into the kernel."""
import random
from decimal import Decimal

from core import hookimpl
from core.contrib import MenuItem, Permission, Role


@hookimpl
def register_blueprints():
    from plugins.erp_finance import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    return [
        Permission("finance.customer.read", "See finance customers and their terms"),
        Permission("finance.customer.write", "Create and edit customers, credit limits, terms"),
    ]


@hookimpl
def register_roles():
    return [Role("Accountant", "Keeps the books and controls credit",
                 ("finance.customer.read", "finance.customer.write"))]


@hookimpl
def register_menu():
    return [MenuItem("Customers", "erp_finance.customer_list", "finance.customer.read",
                     order=40, icon="customers")]


@hookimpl
def search(query, limit):
    from core.records import search_records
    from plugins.erp_finance.records import CUSTOMER

    return search_records(CUSTOMER, query, limit, "Customer", lambda c: c.tax_id or "")


@hookimpl
def load_demo_data(progress):
    from plugins.erp_finance import services

    rng = random.Random(11)
    for i, name in enumerate(("Northwind Traders", "Contoso Retail", "Fabrikam Foods",
                              "Litware Systems", "Adventure Works", "Tailspin Toys",
                              "Wide World Importers", "Proseware Logistics"), start=1):
        services.create_customer({
            "name": name, "tax_id": f"EU{100000 + i * 7919}", "currency": rng.choice(["EUR", "USD"]),
            "payment_terms_days": rng.choice([0, 15, 30, 45]),
            "credit_limit": Decimal(rng.choice([0, 5000, 10000, 25000])).quantize(Decimal("0.01"))})
        progress(1)
