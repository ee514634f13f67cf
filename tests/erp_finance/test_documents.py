"""Invoices, credit notes, vendor bills: totals, taxes, due dates, states, postings, events."""
import datetime as dt

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import RuleViolation, ValidationFailed
from core.models import Event
from plugins.erp_finance import services
from plugins.erp_finance.guards import PostedEntryChanged
from plugins.erp_finance.models import PaymentTerm
from tests.erp_finance.helpers import DAY, D, customer, invoice, supplier, tax


def lines_of(entry):
    return sorted((ln.account.code, ln.debit, ln.credit) for ln in entry.lines)


def test_totals_with_discounts_and_taxes(ctx):
    c = customer()
    inv = services.create_invoice({"customer_id": c.id, "date": DAY, "lines": [
        {"description": "Chairs", "quantity": D(3), "unit_price": D("33.33"), "discount": D(10),
         "tax_id": tax().id},
        {"description": "Desk (tax included)", "quantity": D(1), "unit_price": D("120.00"),
         "tax_id": tax("VAT 20% included").id},
        {"description": "Advice", "quantity": D("1.5"), "unit_price": D("80.00")}]})
    assert [ln.amount_untaxed for ln in inv.lines] == [D("89.99"), D("100.00"), D("120.00")]
    assert [ln.amount_tax for ln in inv.lines] == [D("18.00"), D("20.00"), D("0.00")]
    assert (inv.amount_untaxed, inv.amount_tax, inv.amount_total) == (D("309.99"), D("38.00"), D("347.99"))
    assert inv.state == "draft" and inv.number is None


def test_posting_an_invoice_books_receivable_income_and_tax(ctx):
    inv = invoice(customer(), "200.00", taxed=True)
    assert inv.state == "posted" and inv.number == "INV/2026/00001"
    assert lines_of(inv.entry) == [("1100", D("240.00"), D("0.00")), ("2100", D("0.00"), D("40.00")),
                                   ("4000", D("0.00"), D("200.00"))]
    assert all(ln.customer_id == inv.customer_id for ln in inv.entry.lines)
    [event] = db.session.scalars(sa.select(Event).where(Event.key == f"invoice:{inv.id}:posted"))
    assert event.name == "on_invoice_posted" and event.payload["amount_total"] == "240.00"


def test_due_dates_follow_the_payment_terms(ctx):
    terms = {t.name: t for t in db.session.scalars(sa.select(PaymentTerm))}
    net = invoice(customer("Net", payment_terms_days=45))
    assert net.due_date == DAY + dt.timedelta(days=45)
    now = invoice(customer("Now", payment_term_id=terms["Immediate"].id))
    assert now.due_date == DAY
    split = invoice(customer("Split", payment_term_id=terms["50% now, 50% in 30 days"].id), "100.01")
    assert [(i.due_date, i.amount) for i in split.installments] == [
        (DAY, D("50.01")), (DAY + dt.timedelta(days=30), D("50.00"))]


@pytest.mark.parametrize("text, parts", [
    ("100% now", [(D(100), 0)]), ("100% 30d", [(D(100), 30)]),
    ("50% now, 50% 30d", [(D(50), 0), (D(50), 30)]), ("30% 10 days, 70% in 60 days", [(D(30), 10), (D(70), 60)])])
def test_payment_term_schedules(text, parts):
    assert services.parse_schedule(text) == parts


@pytest.mark.parametrize("text", ["50% now", "abc", "100% -3d", "0% now, 100% 30d"])
def test_bad_payment_term_schedules_are_refused(text):
    with pytest.raises(ValidationFailed):
        services.parse_schedule(text)


def test_only_drafts_change_or_are_cancelled(ctx):
    c = customer()
    draft = invoice(c, post=False)
    services.update_invoice(draft, {"lines": [{"description": "More", "quantity": D(2), "unit_price": D(10)}]})
    assert draft.amount_total == D("20.00")
    assert services.cancel_invoice(draft).state == "cancelled"
    with pytest.raises(RuleViolation):
        services.post_invoice(draft)
    posted = invoice(c)
    for attempt in (lambda: services.update_invoice(posted, {"reference": "x"}),
                    lambda: services.cancel_invoice(posted), lambda: services.post_invoice(posted)):
        with pytest.raises(RuleViolation) as exc:
            attempt()
        assert exc.value.code == "invalid_state" and exc.value.state == "posted"


def test_the_database_guard_protects_posted_documents(ctx):
    inv = invoice(customer())
    db.session.commit()
    inv.lines[0].unit_price = D("1.00")
    with pytest.raises(PostedEntryChanged):
        db.session.flush()
    db.session.rollback()
    inv.amount_total = D("1.00")
    with pytest.raises(PostedEntryChanged):
        db.session.flush()
    db.session.rollback()


def test_lines_are_validated(ctx):
    c = customer()
    with pytest.raises(ValidationFailed) as exc:
        services.create_invoice({"customer_id": c.id, "lines": [
            {"description": "", "quantity": D(0), "unit_price": D(-1),
             "tax_id": tax("VAT 20% (purchases)").id}]})
    assert set(exc.value.errors["lines"][0]) == {"description", "quantity", "unit_price", "tax_id"}
    with pytest.raises(RuleViolation):
        services.post_invoice(services.create_invoice({"customer_id": c.id, "lines": []}))


def test_full_credit_note_reverses_income_and_tax_and_settles_the_invoice(ctx):
    inv = invoice(customer(), "100.00", taxed=True)
    note = services.create_credit_note(inv, {"date": DAY, "reason": "damaged"})
    assert note.kind == "out_refund" and note.origin_id == inv.id and note.number == "RINV/2026/00001"
    assert lines_of(note.entry) == [("1100", D("0.00"), D("120.00")), ("2100", D("20.00"), D("0.00")),
                                    ("4000", D("100.00"), D("0.00"))]
    assert inv.state == "paid" and inv.amount_residual == 0 and note.state == "paid"
    keys = set(db.session.scalars(sa.select(Event.key)))
    assert f"credit_note:{note.id}:issued" in keys
    assert any(k.startswith(f"invoice:{inv.id}:paid:") for k in keys)


def test_partial_credit_notes_never_exceed_the_invoice(ctx):
    inv = invoice(customer(), "100.00")
    half = services.create_credit_note(inv, {"date": DAY, "lines": [
        {"description": "Half", "quantity": D(1), "unit_price": D("60.00")}]})
    assert half.amount_total == D("60.00") and inv.state == "partially_paid" and inv.amount_residual == D("40.00")
    with pytest.raises(RuleViolation) as exc:
        services.create_credit_note(inv, {"date": DAY, "lines": [
            {"description": "Too much", "quantity": D(1), "unit_price": D("40.01")}]})
    assert exc.value.code == "credit_exceeds_invoice"


def test_a_credit_note_on_a_paid_invoice_becomes_customer_credit(ctx):
    c = customer()
    inv = invoice(c, "100.00")
    services.register_payment({"customer_id": c.id, "amount": "100.00", "date": DAY,
                               "allocations": [{"invoice_id": inv.id, "amount": "100.00"}]})
    note = services.create_credit_note(inv, {"date": DAY})
    assert note.state == "posted" and note.amount_residual == D("100.00")
    later = invoice(c, "70.00", date=DAY + dt.timedelta(days=5))
    services.apply_credit_note(note, later)
    assert later.state == "paid" and note.amount_residual == D("30.00")
    assert [c.amount for c in services.available_credits(customer_id=c.id)] == [D("30.00")]


def test_vendor_bills_and_supplier_credit_notes_post_to_payables(ctx):
    s = supplier()
    bill = invoice(s, "50.00", kind="in_invoice", taxed=True, reference="SUP-778")
    assert bill.number == "BILL/2026/00001"
    assert lines_of(bill.entry) == [("1200", D("10.00"), D("0.00")), ("2000", D("0.00"), D("60.00")),
                                    ("6200", D("50.00"), D("0.00"))]
    note = services.create_credit_note(bill, {"date": DAY, "lines": [
        {"description": "Discount", "quantity": D(1), "unit_price": D("10.00"), "tax_id": tax("VAT 20% (purchases)").id}]})
    assert note.number == "RBILL/2026/00001" and bill.amount_residual == D("48.00")
    assert lines_of(note.entry) == [("1200", D("0.00"), D("2.00")), ("2000", D("12.00"), D("0.00")),
                                    ("6200", D("0.00"), D("10.00"))]
    assert services.supplier_balance(s.id) == D("48.00")
    assert not db.session.scalar(sa.select(Event.id).where(Event.name == "on_invoice_posted"))


def test_foreign_currency_invoices_carry_both_amounts(ctx):
    services.create_exchange_rate({"currency": "USD", "date": dt.date(2026, 3, 1), "rate": D("0.9")})
    c = customer("Yankee", currency="USD")
    inv = invoice(c, "100.00")
    assert inv.currency == "USD" and inv.rate == D("0.9") and inv.amount_total_company == D("90.00")
    receivable = next(ln for ln in inv.entry.lines if ln.account.code == "1100")
    assert (receivable.debit, receivable.amount_currency, receivable.currency) == (D("90.00"), D("100.00"), "USD")
    with pytest.raises(RuleViolation) as exc:
        invoice(c, "10.00", date=dt.date(2026, 2, 1))
    assert exc.value.code == "no_exchange_rate"
