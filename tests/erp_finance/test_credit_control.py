"""Credit control: customer status (balance, overdue, credit left, last payment), dunning list."""
import datetime as dt

from plugins.erp_finance import services
from tests.erp_finance.helpers import D, customer, invoice


def test_customer_status(ctx):
    c = customer(credit_limit=D("1000.00"), payment_terms_days=30)
    old = invoice(c, "300.00", date=dt.date(2026, 1, 1))  # due Jan 31
    invoice(c, "200.00", date=dt.date(2026, 3, 1))  # due Mar 31
    services.register_payment({"customer_id": c.id, "amount": "100.00", "date": dt.date(2026, 2, 10),
                               "allocations": [{"invoice_id": old.id, "amount": "100.00"}]})
    status = services.customer_status(c.id, today=dt.date(2026, 3, 15))
    assert status.balance == D("400.00")
    assert status.overdue_amount == D("200.00") and status.oldest_overdue_days == 43
    assert status.credit_limit == D("1000.00") and status.available_credit == D("600.00")
    assert not status.over_limit and status.open_invoices == 2
    assert (status.last_payment_date, status.last_payment_amount) == (dt.date(2026, 2, 10), D("100.00"))
    assert status.currency == "EUR"


def test_a_new_customer_has_a_clean_status(ctx):
    status = services.customer_status(customer().id)
    assert (status.balance, status.overdue_amount, status.oldest_overdue_days) == (0, 0, 0)
    assert status.last_payment_date is None


def test_a_limit_of_zero_means_no_limit_is_set(ctx):
    c = customer()  # credit_limit 0.00
    invoice(c, "5000.00", date=dt.date(2026, 3, 1))
    status = services.customer_status(c.id, today=dt.date(2026, 3, 2))
    assert status.balance == D("5000.00") and status.credit_limit == 0
    assert status.available_credit is None and not status.over_limit
    over = customer(credit_limit=D("100.00"))
    invoice(over, "150.00", date=dt.date(2026, 3, 1))
    status = services.customer_status(over.id, today=dt.date(2026, 3, 2))
    assert status.available_credit == D("-50.00") and status.over_limit


def test_split_terms_make_only_the_due_part_overdue(ctx):
    from plugins.erp_finance.models import PaymentTerm
    import sqlalchemy as sa
    from core.db import db

    term = db.session.scalar(sa.select(PaymentTerm).where(PaymentTerm.name == "50% now, 50% in 30 days"))
    c = customer(payment_term_id=term.id)
    invoice(c, "100.00", date=dt.date(2026, 3, 1))
    status = services.customer_status(c.id, today=dt.date(2026, 3, 10))
    assert status.overdue_amount == D("50.00") and status.balance == D("100.00")


def test_overdue_list_for_dunning(ctx):
    late, fine = customer("Late Ltd", email="ap@late.example"), customer("Fine Ltd")
    a = invoice(late, "80.00", date=dt.date(2026, 1, 1))
    invoice(late, "20.00", date=dt.date(2026, 2, 20))
    invoice(fine, "50.00", date=dt.date(2026, 3, 1))
    rows = services.overdue_invoices(dt.date(2026, 3, 25))
    assert [(r["number"], r["days_overdue"], r["overdue_amount"]) for r in rows] == [
        (a.number, 53, D("80.00")), ("INV/2026/00002", 3, D("20.00"))]
    assert rows[0]["customer"] == "Late Ltd" and rows[0]["email"] == "ap@late.example"
    assert len(services.overdue_invoices(dt.date(2026, 3, 25), min_days=30)) == 1
