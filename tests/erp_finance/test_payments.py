"""Payments: allocation to one or several invoices, partial, overpayment as credit, events,
cancellation, concurrency, exchange differences."""
import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from core.db import db, transaction
from core.errors import RuleViolation, ValidationFailed
from core.models import Event
from plugins.erp_finance import reports, services
from plugins.erp_finance.models import Invoice
from tests.erp_finance.helpers import DAY, D, customer, invoice, supplier, trial_totals


def pay(party, amount, *allocations, **extra):
    key = "customer_id" if party.__tablename__ == "finance_customer" else "supplier_id"
    return services.register_payment({key: party.id, "amount": amount, "date": DAY + dt.timedelta(days=1),
                                      "allocations": [{"invoice_id": i.id, "amount": a} for i, a in allocations],
                                      **extra})


def event_keys():
    return set(db.session.scalars(sa.select(Event.key)))


def test_a_payment_settles_several_invoices_and_keeps_the_rest_as_credit(ctx):
    c = customer()
    a, b = invoice(c, "100.00"), invoice(c, "50.00")
    payment = pay(c, "200.00", (a, "100.00"), (b, "20.00"))
    assert payment.number == "BNK/2026/00001" and payment.amount_unallocated == D("80.00")
    assert (a.state, b.state, b.amount_residual) == ("paid", "partially_paid", D("30.00"))
    keys = event_keys()
    assert f"payment:{payment.id}:received" in keys
    assert any(k.startswith(f"invoice:{a.id}:paid:") for k in keys)
    assert not any(k.startswith(f"invoice:{b.id}:paid:") for k in keys)
    status = services.customer_status(c.id, DAY)
    assert status.balance == D("-50.00")  # 150 invoiced, 200 received
    later = invoice(c, "60.00")
    services.allocate_payment(payment, b)  # all that fits: 30
    services.allocate_payment(payment, later)  # the remaining 50
    assert (b.state, later.amount_residual, payment.amount_unallocated) == ("paid", D("10.00"), D("0.00"))


def test_auto_allocation_pays_the_oldest_first(ctx):
    c = customer()
    old, new = invoice(c, "40.00", date=dt.date(2026, 1, 5)), invoice(c, "40.00")
    pay(c, "50.00", auto_allocate=True)
    assert (old.state, new.amount_residual) == ("paid", D("30.00"))


def test_over_allocation_is_refused(ctx):
    c = customer()
    inv = invoice(c, "100.00")
    with pytest.raises(RuleViolation) as exc:
        pay(c, "150.00", (inv, "100.01"))
    assert exc.value.code == "over_allocation"
    with pytest.raises(ValidationFailed):
        pay(c, "50.00", (inv, "60.00"))  # more allocated than paid
    other = invoice(customer("Other"), "10.00")
    with pytest.raises(ValidationFailed):
        pay(c, "10.00", (other, "10.00"))


def test_supplier_payments_reduce_payables(ctx):
    s = supplier()
    bill = invoice(s, "300.00", kind="in_invoice")
    payment = pay(s, "300.00", (bill, "300.00"))
    assert payment.direction == "outbound" and bill.state == "paid"
    assert services.supplier_balance(s.id) == 0
    assert not any(k.startswith("payment:") for k in event_keys())  # on_payment_received is for customers


def test_cancelling_a_payment_reopens_its_invoices(ctx):
    c = customer()
    inv = invoice(c, "100.00")
    payment = pay(c, "100.00", (inv, "100.00"))
    services.cancel_payment(payment, DAY + dt.timedelta(days=2))
    assert payment.state == "cancelled" and inv.state == "posted" and inv.amount_residual == D("100.00")
    assert services.customer_status(c.id, DAY).balance == D("100.00")
    with pytest.raises(RuleViolation):
        services.cancel_payment(payment)
    assert trial_totals()[0] == trial_totals()[1]


def test_concurrent_payments_cannot_over_allocate_an_invoice(fapp):
    with fapp.app_context():
        with transaction():
            c = customer()
            inv = invoice(c, "100.00")
        customer_id, invoice_id = c.id, inv.id
    barrier = threading.Barrier(2)
    outcomes = []

    def pay_in_full():
        with fapp.app_context():
            barrier.wait()
            try:
                with transaction():
                    services.register_payment({"customer_id": customer_id, "amount": "100.00", "date": DAY,
                                               "allocations": [{"invoice_id": invoice_id, "amount": "100.00"}]})
                outcomes.append("paid")
            except (RuleViolation, sa.exc.OperationalError) as exc:
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay_in_full) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("paid") == 1, outcomes
    with fapp.app_context():
        inv = db.session.get(Invoice, invoice_id)
        assert inv.amount_paid == D("100.00") and inv.state == "paid"


def test_exchange_differences_are_posted_when_rates_move(ctx):
    services.create_exchange_rate({"currency": "USD", "date": dt.date(2026, 3, 1), "rate": D("0.90")})
    services.create_exchange_rate({"currency": "USD", "date": dt.date(2026, 3, 11), "rate": D("0.95")})
    c = customer("Yankee", currency="USD")
    inv = invoice(c, "100.00")  # 90.00 EUR receivable
    payment = pay(c, "100.00", (inv, "100.00"))  # 95.00 EUR received
    assert payment.rate == D("0.95") and inv.state == "paid"
    ar, docs = reports.open_amounts_match_ledger()
    assert ar == docs == 0
    fx = services.get_entry(payment.allocations[0].fx_entry_id)
    assert sorted((ln.account.code, ln.debit, ln.credit) for ln in fx.lines) == [
        ("1100", D("5.00"), D("0.00")), ("7900", D("0.00"), D("5.00"))]
    euro = invoice(c, "10.00", currency="EUR")
    with pytest.raises(RuleViolation) as exc:
        pay(c, "10.00", (euro, "10.00"))  # a USD payment for a EUR invoice
    assert exc.value.code == "currency_mismatch"
