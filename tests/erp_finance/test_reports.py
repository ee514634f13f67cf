"""Reports: trial balance, general ledger, P&L, balance sheet, aging, revenue; JSON and CSV."""
import datetime as dt

import pytest

from core.db import transaction
from plugins.erp_finance import reports, services
from tests.erp_finance.helpers import D, account, customer, invoice, manual_entry, supplier

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


@pytest.fixture
def books(fapp):
    """A small set of committed books: two invoices, a bill, a payment, a credit note, rent."""
    with fapp.app_context(), transaction():
        acme, paper = customer(), supplier()
        a = invoice(acme, "1000.00", date=dt.date(2026, 1, 10), taxed=True)  # 1200, due Feb 9
        invoice(acme, "500.00", date=dt.date(2026, 3, 1))  # due Mar 31
        invoice(paper, "300.00", date=dt.date(2026, 2, 1), kind="in_invoice")  # due Mar 3
        services.register_payment({"customer_id": acme.id, "amount": "700.00", "date": dt.date(2026, 2, 1),
                                   "allocations": [{"invoice_id": a.id, "amount": "700.00"}]})
        services.create_credit_note(a, {"date": dt.date(2026, 2, 15), "lines": [
            {"description": "Goodwill", "quantity": D(1), "unit_price": D("100.00")}]})
        manual_entry("400.00", date=dt.date(2026, 1, 31), debit="6000")
    return fapp


def test_trial_balance_balances_for_any_range(books):
    with books.app_context():
        tb = reports.trial_balance(*YEAR)
        assert tb["balanced"] and tb["totals"]["debit"] == tb["totals"]["credit"]
        by_code = {r["code"]: r for r in tb["rows"]}
        assert by_code["1100"]["closing"] == D("900.00")  # 1200 + 500 - 700 - 100
        assert by_code["2100"]["closing"] == D("-200.00")
        march = reports.trial_balance(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        assert march["balanced"] and {r["code"]: r["opening"] for r in march["rows"]}["1100"] == D("400.00")


def test_general_ledger_has_a_running_balance(books):
    with books.app_context():
        gl = reports.general_ledger(account("1100").id, *YEAR)
        assert [r["balance"] for r in gl["rows"]] == [D("1200.00"), D("500.00"), D("400.00"), D("900.00")]
        assert gl["closing"] == D("900.00") and gl["opening"] == 0
        feb = reports.general_ledger(account("1100").id, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
        assert feb["opening"] == D("1200.00") and [r["balance"] for r in feb["rows"]] == [D("500.00"), D("400.00")]
        page2 = reports.general_ledger(account("1100").id, *YEAR, page=2, per_page=3)
        assert page2["total"] == 4 and [r["balance"] for r in page2["rows"]] == [D("900.00")]


def test_profit_and_loss_and_balance_sheet(books):
    with books.app_context():
        pnl = reports.profit_and_loss(*YEAR)
        assert pnl["income"]["total"] == D("1400.00")  # 1000 + 500 - 100
        assert pnl["expense"]["total"] == D("700.00")  # 300 supplies + 400 rent
        assert pnl["profit"] == D("700.00")
        bs = reports.balance_sheet(dt.date(2026, 12, 31))
        assert bs["balanced"] and bs["assets"]["total"] == bs["liabilities_and_equity"]
        assert {r["name"]: r["amount"] for r in bs["equity"]["rows"]}["Current earnings"] == D("700.00")


def test_aging_buckets(books):
    with books.app_context():
        ar = reports.aging("receivable", dt.date(2026, 4, 15))
        [row] = ar["rows"]
        # invoice 1: 400 left, due Feb 9 (65 days late); invoice 2: 500, due Mar 31 (15 days)
        assert (row["current"], row["1-30"], row["61-90"], row["total"]) == (0, D("500.00"), D("400.00"), D("900.00"))
        assert ar["totals"]["total"] == services.customer_status(row["party_id"]).balance
        ap = reports.aging("payable", dt.date(2026, 3, 1))
        assert ap["rows"][0]["current"] == D("300.00")
        later = reports.aging("payable", dt.date(2026, 7, 1))
        assert later["rows"][0]["over 90"] == D("300.00")


def test_revenue_per_month(books):
    with books.app_context():
        report = reports.revenue_by_month(*YEAR)
        assert report["rows"] == [{"month": "2026-01", "revenue": D("1000.00")},
                                  {"month": "2026-02", "revenue": D("-100.00")},
                                  {"month": "2026-03", "revenue": D("500.00")}]


REPORT_URLS = ("trial-balance", "general-ledger", "profit-and-loss", "balance-sheet",
               "receivables-aging", "payables-aging", "revenue-by-month", "overdue")


def test_reports_as_json_pages_and_csv(books):
    from tests.conftest import ApiClient, login, token_for

    api = ApiClient(books.test_client(), token_for(books))
    page = login(books.test_client())
    tb = api.get("/api/v1/finance/reports/trial-balance?date_from=2026-01-01&date_to=2026-12-31").get_json()
    assert tb["balanced"] is True and tb["totals"]["debit"] == tb["totals"]["credit"]
    aging = api.get("/api/v1/finance/reports/receivables-aging?as_of=2026-04-15").get_json()
    assert aging["rows"][0]["61-90"] == "400.00"
    assert api.get("/api/v1/finance/reports/trial-balance?date_from=2026-05-01&date_to=2026-01-01").status_code == 422
    assert api.get("/api/v1/finance/reports/trial-balance?colour=red").status_code == 422
    for name in REPORT_URLS:
        assert api.get(f"/api/v1/finance/reports/{name}").status_code == 200, name
        html = page.get(f"/finance/reports/{name}?date_from=2026-01-01&date_to=2026-12-31&as_of=2026-04-15")
        assert html.status_code == 200, name
        csv = page.get(f"/finance/reports/{name}?format=csv&date_from=2026-01-01&date_to=2026-12-31")
        assert csv.status_code == 200 and csv.mimetype == "text/csv", name
    text = page.get("/finance/reports/trial-balance?format=csv&date_from=2026-01-01&date_to=2026-12-31").get_data(as_text=True)
    assert text.splitlines()[0] == "code,name,type,opening,debit,credit,closing" and "1100,Accounts receivable" in text
    assert "'-200.00" in text  # negative numbers are formula-safe in CSV
    assert page.get("/finance/reports/trial-balance?date_from=nonsense").status_code == 200
