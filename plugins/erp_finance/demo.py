"""Demo data: a year of invoices, payments, credit notes, vendor bills and running costs.

Deterministic (seeded), built through the services like real work, so every rule
(numbering, hashes, allocations, taxes) holds in the demo books too.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from plugins.erp_finance import ledger, parties
from plugins.erp_finance.invoicing import create_credit_note, create_invoice, post_invoice
from plugins.erp_finance.models import Account, ExchangeRate, PaymentTerm, Tax
from plugins.erp_finance.payments import register_payment
from plugins.erp_finance.schedules import create_schedule, run_billing_schedules

CUSTOMERS = ("Northwind Traders", "Contoso Retail", "Fabrikam Foods", "Litware Systems",
             "Adventure Works", "Tailspin Toys", "Wide World Importers", "Proseware Logistics",
             "Alpine Ski House", "Blue Yonder Airlines", "City Power & Light", "Coho Winery",
             "Consolidated Messenger", "Fourth Coffee", "Graphic Design Institute",
             "Humongous Insurance", "Lucerne Publishing", "Margie's Travel", "Nod Publishers",
             "Relecloud", "Southridge Video", "Trey Research", "VanArsdel", "Woodgrove Bank",
             "School of Fine Art", "Bellows College", "Munson's Pickles", "Lamna Healthcare",
             "Best For You Organics", "Wingtip Toys")
SUPPLIERS = ("Office Depot Supply", "Metro Property Rentals", "CloudHost Services", "FastFreight",
             "PaperWorks", "Grid Energy", "Legal Partners LLP", "TelcoNet", "Clean & Co",
             "Staffing Plus", "DesignHub Studio", "Secure Insurance")
PRODUCTS = (("Consulting day", "SRV-CONS", Decimal("850.00"), "4100"),
            ("Support hours", "SRV-SUP", Decimal("95.00"), "4100"),
            ("Network switch", "NET-0007", Decimal("420.00"), "4000"),
            ("Office chair", "OFF-0003", Decimal("189.00"), "4000"),
            ("Training seat", "SRV-TRN", Decimal("350.00"), "4100"),
            ("Storage crate", "STO-0019", Decimal("39.90"), "4000"))
COSTS = (("Office supplies", "6200", 50, 400), ("Hosting", "6400", 200, 900),
         ("Freight", "5000", 100, 1200), ("Legal advice", "6300", 500, 3000),
         ("Travel", "6500", 80, 700))
RATES = {"USD": Decimal("0.92"), "GBP": Decimal("1.17")}


def _account(code: str) -> int:
    return db.session.scalar(sa.select(Account.id).where(Account.code == code))


def load(progress, today: dt.date | None = None, months: int = 12) -> None:
    """Load the demo books: customers, suppliers and the ``months`` months up to ``today``."""
    rng = random.Random(11)
    today = today or ledger.today()
    first = today.year * 12 + today.month - 1 - months
    start = dt.date(first // 12, first % 12 + 1, 1)
    ledger.install_defaults()
    sale_tax = db.session.scalar(sa.select(Tax.id).where(Tax.name == "VAT 20%"))
    purchase_tax = db.session.scalar(sa.select(Tax.id).where(Tax.name == "VAT 20% (purchases)"))
    terms = db.session.scalars(sa.select(PaymentTerm)).all()

    for currency, base in RATES.items():
        for month in range(14):
            day = dt.date(start.year + (start.month - 2 + month) // 12, (start.month - 2 + month) % 12 + 1, 1)
            if not db.session.scalar(sa.select(ExchangeRate.id).where(ExchangeRate.currency == currency,
                                                                      ExchangeRate.date == day)):
                db.session.add(ExchangeRate(currency=currency, date=day,
                                            rate=base + Decimal(rng.randint(-30, 30)) / 1000))
    customers = []
    for i, name in enumerate(CUSTOMERS, start=1):
        customer = parties.find_customer(name=name) or parties.create_customer({
            "name": name, "tax_id": f"EU{100000 + i * 7919}", "email": f"billing@{name.split()[0].lower()}.example",
            "billing_address": f"{rng.randint(1, 200)} {rng.choice(['Market', 'Harbour', 'Station', 'Oak'])} Street\n"
                               f"{rng.choice(['Lyon', 'Berlin', 'Madrid', 'Leeds', 'Boston'])}",
            "currency": "USD" if i % 7 == 0 else "EUR",
            "payment_terms_days": rng.choice([15, 30, 30, 45]),
            "payment_term_id": rng.choice(terms).id if i % 5 == 0 else None,
            "credit_limit": Decimal(rng.choice([0, 5000, 10000, 25000, 50000])).quantize(Decimal("0.01"))})
        customers.append(customer)
        progress(1)
    suppliers = [parties.create_supplier({
        "name": name, "tax_id": f"SUP{200000 + i * 313}", "email": f"accounts@{name.split()[0].lower()}.example",
        "currency": "GBP" if i == 3 else "EUR", "payment_terms_days": rng.choice([14, 30, 45])})
        for i, name in enumerate(SUPPLIERS)]
    progress(len(suppliers))

    accounts = {code: _account(code) for code in ("4000", "4100", "5000", "6000", "6100", "6200",
                                                  "6300", "6400", "6500", "6900", "1000", "3000")}
    ledger.create_entry({"journal_id": ledger.setting_journal("misc_journal_id").id, "date": start,
                         "ref": "Owner's capital", "post": True, "lines": [
                             {"account_id": accounts["1000"], "debit": Decimal("60000.00")},
                             {"account_id": accounts["3000"], "credit": Decimal("60000.00")}]})
    month_start = start
    while month_start <= today:
        _one_month(rng, month_start, today, customers, suppliers, accounts, sale_tax, purchase_tax, progress)
        month_start = (month_start + dt.timedelta(days=32)).replace(day=1)
    for customer, name, price in ((customers[0], "Support contract", "1200.00"),
                                  (customers[3], "Software subscription", "480.00"),
                                  (customers[9], "Maintenance plan", "2500.00")):
        create_schedule({"name": name, "customer_id": customer.id, "currency": customer.currency,
                         "period": "quarterly" if name.startswith("Maint") else "monthly",
                         "start_date": (today - dt.timedelta(days=100)).replace(day=1),
                         "lines": [{"description": name, "quantity": Decimal(1),
                                    "unit_price": Decimal(price), "tax_id": sale_tax,
                                    "account_id": accounts["4100"]}]})
    progress(len(run_billing_schedules(today)))


def _one_month(rng, month_start, today, customers, suppliers, accounts, sale_tax, purchase_tax, progress):
    days_in_month = ((month_start + dt.timedelta(days=32)).replace(day=1) - month_start).days
    last = min(today, month_start + dt.timedelta(days=days_in_month - 1))

    def day() -> dt.date:
        return min(last, month_start + dt.timedelta(days=rng.randint(0, days_in_month - 1)))

    for _ in range(rng.randint(14, 22)):  # customer invoices
        customer = rng.choice(customers)
        lines = []
        for _ in range(rng.randint(1, 3)):
            name, ref, price, income = rng.choice(PRODUCTS)
            lines.append({"description": name, "product_ref": ref, "quantity": Decimal(rng.randint(1, 8)),
                          "unit_price": price, "discount": Decimal(rng.choice([0, 0, 0, 5, 10])),
                          "tax_id": sale_tax, "account_id": accounts[income]})
        invoice = post_invoice(create_invoice({"customer_id": customer.id, "date": day(),
                                               "reference": f"PO-{rng.randint(1000, 9999)}", "lines": lines}))
        progress(1)
        _maybe_pay(rng, invoice, today, customer_side=True)
        if rng.random() < 0.05 and invoice.amount_residual > 0:
            first = invoice.lines[0]
            create_credit_note(invoice, {"date": min(today, invoice.date + dt.timedelta(days=rng.randint(3, 20))),
                                         "reason": "Returned goods", "lines": [
                                             {"description": f"Return: {first.description}", "quantity": Decimal(1),
                                              "unit_price": first.unit_price, "tax_id": first.tax_id,
                                              "account_id": first.account_id}]})
            progress(1)
    for _ in range(rng.randint(6, 10)):  # vendor bills
        supplier = rng.choice(suppliers)
        label, code, low, high = rng.choice(COSTS)
        bill = post_invoice(create_invoice({"supplier_id": supplier.id, "date": day(),
                                            "reference": f"BILL-{rng.randint(10000, 99999)}", "lines": [
                                                {"description": label, "quantity": Decimal(1),
                                                 "unit_price": Decimal(rng.randint(low, high)),
                                                 "tax_id": purchase_tax, "account_id": accounts[code]}]},
                                           kind="in_invoice"))
        progress(1)
        _maybe_pay(rng, bill, today, customer_side=False)
    bank = ledger.setting_journal("bank_journal_id").id
    for label, code, amount in (("Office rent", "6000", "2400.00"), ("Salaries", "6100", "9800.00"),
                                ("Bank charges", "6900", "35.00")):
        ledger.create_entry({"journal_id": bank, "date": min(last, month_start + dt.timedelta(days=27)),
                             "ref": f"{label} {month_start:%B %Y}", "post": True, "lines": [
                                 {"account_id": accounts[code], "debit": Decimal(amount), "description": label},
                                 {"account_id": accounts["1000"], "credit": Decimal(amount), "description": label}]})
        progress(1)


def _maybe_pay(rng, invoice, today, customer_side: bool) -> None:
    """Most documents are paid around their due date; some partly, some late, a few over."""
    delay = rng.randint(-10, 40)
    paid_on = (invoice.due_date or invoice.date) + dt.timedelta(days=delay)
    if paid_on > today or rng.random() < 0.08:
        return
    party = {"customer_id": invoice.customer_id} if customer_side else {"supplier_id": invoice.supplier_id}
    roll = rng.random()
    amount = invoice.amount_residual
    if roll < 0.1:
        amount = (amount / 2).quantize(Decimal("0.01"))
    allocated = amount
    if roll > 0.97:
        amount += Decimal(rng.randint(10, 200))  # overpayment: kept as credit
    register_payment({**party, "amount": amount, "date": max(paid_on, invoice.date), "currency": invoice.currency,
                      "reference": invoice.reference,
                      "allocations": [{"invoice_id": invoice.id, "amount": allocated}]})
