"""Demo data: three regular customers whose paid invoices earn points.

Everything goes through the other plugins' services, so the points arrive the way they
do in real use: finance's ``on_invoice_paid`` event, the bridge's account link.
"""
from __future__ import annotations

from decimal import Decimal

REGULARS = (  # account, domain, invoices (unit price x quantity)
    ("Harbour Bakery", "harbourbakery.example", ((Decimal("84.50"), 12), (Decimal("129.99"), 3))),
    ("Cedar Books", "cedarbooks.example", ((Decimal("19.90"), 40),)),
    ("Northwind Florist", "northwindflorist.example", ((Decimal("250.00"), 2), (Decimal("75.25"), 4))),
)


def load(progress) -> None:
    """Create the regulars in CRM, link them to finance customers, invoice and pay them."""
    from plugins.bridge.services import link_account
    from plugins.crm.services import create_account
    from plugins.erp_finance.services import create_invoice, register_payment

    for name, domain, invoices in REGULARS:
        account = create_account({"name": name, "domain": domain, "industry": "Retail"})
        customer_id = link_account(account.id).customer_id
        for unit_price, quantity in invoices:
            invoice = create_invoice({"customer_id": customer_id, "post": True, "lines": [
                {"description": "Monthly supplies", "quantity": Decimal(quantity), "unit_price": unit_price}]})
            register_payment({"customer_id": customer_id, "amount": invoice.amount_total,
                              "allocations": [{"invoice_id": invoice.id, "amount": invoice.amount_total}]})
            progress(1)
