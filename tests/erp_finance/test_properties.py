"""Property: random sequences of invoices, payments, credit notes, reversals, cancellations
and lock-date changes keep every posted entry balanced, the trial balance at zero,
receivables equal to the open customer documents, every hash chain verifying, nothing
posted on or before the lock date, and never change a posted entry.

Figures (docs/reliability.md): 15 examples of up to 20 steps, derandomized.
"""
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from core.db import db
from core.errors import RuleViolation
from plugins.erp_finance import reports, services
from plugins.erp_finance.ledger import entry_hash, reversal_of, verify_ledger
from plugins.erp_finance.models import JournalEntry, JournalLine
from tests.erp_finance.helpers import D, customer, invoice, manual_entry, trial_totals

EXAMPLES, STEPS = 15, 20
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
fractions = st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("1"), Decimal("1.3")])
days = st.integers(min_value=0, max_value=60)
START = dt.date(2026, 2, 1)
LATE = START + dt.timedelta(days=70)  # reversals and cancellations


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
        self.lock: dt.date | None = None

    def teardown(self):
        db.session.rollback()
        self.ctx.pop()

    def _posting(self, date: dt.date | None, action, *allowed: str):
        """Run one posting in a savepoint (as a request would roll back); a refusal for the
        lock date must come exactly when ``date`` is on or before it."""
        locked = self.lock is not None and date is not None and date <= self.lock
        try:
            with db.session.begin_nested():
                result = action()
        except RuleViolation as exc:
            if exc.code == "period_locked":
                assert locked or date is None, f"refused {date} with the lock at {self.lock}"
                return None
            assert exc.code in allowed, exc.code
            return None
        assert not locked, f"posted on {date} with the books locked up to {self.lock}"
        return result

    @staticmethod
    def _kept(result):
        return multiple() if result is None else result

    @initialize(target=customers)
    def first_customer(self):
        return customer("First")

    @rule(target=customers)
    def another_customer(self):
        return customer(f"Customer {len(self.seen)}-{id(self)}"[:60])

    @rule(target=invoices, party=customers, amount=amounts, taxed=st.booleans(), day=days)
    def post_invoice(self, party, amount, taxed, day):
        date = START + dt.timedelta(days=day)
        return self._kept(self._posting(date, lambda: invoice(party, str(amount), date=date, taxed=taxed)))

    @rule(target=payments, inv=invoices, fraction=fractions, day=days)
    def pay(self, inv, fraction, day):
        amount = (inv.amount_total * fraction).quantize(D("0.01"))
        allocated = min(amount, inv.amount_residual)
        allocations = [{"invoice_id": inv.id, "amount": allocated}] if allocated > 0 else []
        date = START + dt.timedelta(days=day)
        return self._kept(self._posting(date, lambda: services.register_payment({
            "customer_id": inv.customer_id, "amount": max(amount, D("0.01")), "date": date,
            "allocations": allocations})))

    @rule(inv=invoices, fraction=fractions)
    def credit_note(self, inv, fraction):
        amount = (inv.amount_untaxed * fraction).quantize(D("0.01"))
        self._posting(inv.date, lambda: services.create_credit_note(inv, {"date": inv.date, "lines": [
            {"description": "Credit", "quantity": D(1), "unit_price": max(amount, D("0.01"))}]}),
            "credit_exceeds_invoice")

    @rule(payment=payments, inv=invoices)
    def use_credit(self, payment, inv):
        if payment.state == "posted" and payment.amount_unallocated > 0 and inv.customer_id == payment.customer_id \
                and inv.state in ("posted", "partially_paid"):
            self._posting(None, lambda: services.allocate_payment(payment, inv))

    @rule(payment=payments)
    def cancel_payment(self, payment):
        if payment.state == "posted":
            self._posting(LATE, lambda: services.cancel_payment(payment, LATE))

    @rule(target=entries, amount=amounts, day=days)
    def manual(self, amount, day):
        date = START + dt.timedelta(days=day)
        return self._kept(self._posting(date, lambda: manual_entry(str(amount), date=date)))

    @rule(entry=entries)
    def reverse(self, entry):
        if reversal_of(entry) is None:
            self._posting(LATE, lambda: services.reverse_entry(entry, LATE))

    @rule(day=st.one_of(st.none(), st.integers(min_value=0, max_value=80)))
    def move_lock_date(self, day):
        self.lock = None if day is None else START + dt.timedelta(days=day)
        services.update_settings({"lock_date": self.lock})

    @invariant()
    def every_posted_entry_balances(self):
        # rounded in SQL: SQLite sums NUMERIC columns as binary floats
        unbalanced = db.session.execute(
            sa.select(JournalEntry.number).join(JournalLine).where(JournalEntry.state == "posted")
            .group_by(JournalEntry.id, JournalEntry.number)
            .having(sa.func.round(sa.func.sum(JournalLine.debit) - sa.func.sum(JournalLine.credit), 2) != 0)).scalars().all()
        assert unbalanced == []

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
    def posted_entries_never_change_and_chains_verify(self):
        db.session.flush()
        for entry in db.session.scalars(sa.select(JournalEntry).where(JournalEntry.state == "posted")):
            content = (entry.hash, entry.number, tuple((ln.account_id, ln.debit, ln.credit) for ln in entry.lines))
            assert entry_hash(entry, entry.lines) == entry.hash
            if entry.id not in self.seen and self.lock is not None:
                assert entry.date > self.lock, f"{entry.number} posted on {entry.date}, locked to {self.lock}"
            assert self.seen.setdefault(entry.id, content) == content
        assert [c for c in verify_ledger() if not c.ok] == []


def test_random_books_stay_consistent(fapp):
    Books.app = fapp
    run = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None)(Books).TestCase
    run("runTest").runTest()
