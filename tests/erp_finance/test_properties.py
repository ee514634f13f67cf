"""Property: random sequences of invoices, payments, credit notes, reversals and cancellations
keep the trial balance at zero, keep receivables equal to the open customer documents, and
never change a posted entry."""
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from core.db import db
from core.errors import RuleViolation
from plugins.erp_finance import reports, services
from plugins.erp_finance.ledger import entry_hash, reversal_of
from plugins.erp_finance.models import JournalEntry
from tests.erp_finance.helpers import D, customer, invoice, manual_entry, trial_totals

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
fractions = st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("1"), Decimal("1.3")])
days = st.integers(min_value=0, max_value=60)
START = dt.date(2026, 2, 1)


class Books(RuleBasedStateMachine):
    """Runs inside one app context; every example is rolled back at the end."""

    app = None
    customers = Bundle("customers")
    invoices = Bundle("invoices")
    payments = Bundle("payments")
    entries = Bundle("entries")

    def __init__(self):
        super().__init__()
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.seen: dict[int, tuple] = {}

    def teardown(self):
        db.session.rollback()
        self.ctx.pop()

    @initialize(target=customers)
    def first_customer(self):
        return customer("First")

    @rule(target=customers)
    def another_customer(self):
        return customer(f"Customer {len(self.seen)}-{id(self)}"[:60])

    @rule(target=invoices, party=customers, amount=amounts, taxed=st.booleans(), day=days)
    def post_invoice(self, party, amount, taxed, day):
        return invoice(party, str(amount), date=START + dt.timedelta(days=day), taxed=taxed)

    @rule(target=payments, inv=invoices, fraction=fractions, day=days)
    def pay(self, inv, fraction, day):
        amount = (inv.amount_total * fraction).quantize(D("0.01"))
        allocated = min(amount, inv.amount_residual)
        allocations = [{"invoice_id": inv.id, "amount": allocated}] if allocated > 0 else []
        return services.register_payment({"customer_id": inv.customer_id, "amount": max(amount, D("0.01")),
                                          "date": START + dt.timedelta(days=day), "allocations": allocations})

    @rule(inv=invoices, fraction=fractions)
    def credit_note(self, inv, fraction):
        amount = (inv.amount_untaxed * fraction).quantize(D("0.01"))
        try:
            services.create_credit_note(inv, {"date": inv.date, "lines": [
                {"description": "Credit", "quantity": D(1), "unit_price": max(amount, D("0.01"))}]})
        except RuleViolation as exc:
            assert exc.code == "credit_exceeds_invoice"

    @rule(payment=payments, inv=invoices)
    def use_credit(self, payment, inv):
        if payment.state == "posted" and payment.amount_unallocated > 0 and inv.customer_id == payment.customer_id \
                and inv.state in ("posted", "partially paid"):
            services.allocate_payment(payment, inv)

    @rule(payment=payments)
    def cancel_payment(self, payment):
        if payment.state == "posted":
            services.cancel_payment(payment, START + dt.timedelta(days=70))

    @rule(target=entries, amount=amounts, day=days)
    def manual(self, amount, day):
        return manual_entry(str(amount), date=START + dt.timedelta(days=day))

    @rule(entry=entries)
    def reverse(self, entry):
        if reversal_of(entry) is None:
            services.reverse_entry(entry, START + dt.timedelta(days=70))

    @invariant()
    def trial_balance_is_zero(self):
        debit, credit = trial_totals()
        assert debit == credit
        assert reports.trial_balance(START, START + dt.timedelta(days=90))["balanced"]

    @invariant()
    def receivables_equal_open_documents(self):
        ledger_side, documents = reports.open_amounts_match_ledger()
        assert ledger_side == documents

    @invariant()
    def posted_entries_never_change(self):
        db.session.flush()
        for entry in db.session.scalars(sa.select(JournalEntry).where(JournalEntry.state == "posted")):
            content = (entry.hash, entry.number, tuple((ln.account_id, ln.debit, ln.credit) for ln in entry.lines))
            assert entry_hash(entry, entry.lines) == entry.hash
            assert self.seen.setdefault(entry.id, content) == content


def test_random_books_stay_consistent(fapp):
    Books.app = fapp
    run = settings(max_examples=15, stateful_step_count=20, deadline=None)(Books).TestCase
    run("runTest").runTest()
