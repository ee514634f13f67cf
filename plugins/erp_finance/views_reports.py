"""Report pages: each report as a page, and as CSV with ``?format=csv``."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request

from core.csvio import attr_columns, csv_response
from core.errors import NotFound
from core.permissions import requires
from plugins.erp_finance import credit, ledger, records, reports
from plugins.erp_finance import schemas as s

REPORTS = (  # endpoint, title, what it answers
    ("report_trial_balance", "Trial balance", "Every account's debits, credits and balance for a period"),
    ("report_general_ledger", "General ledger", "The lines of one account with a running balance"),
    ("report_profit_and_loss", "Profit and loss", "Income, expenses and profit for a period"),
    ("report_balance_sheet", "Balance sheet", "Assets, liabilities and equity at a date"),
    ("report_receivables_aging", "Receivables aging", "What customers owe, by days past due"),
    ("report_payables_aging", "Payables aging", "What you owe suppliers, by days past due"),
    ("report_revenue", "Revenue by month", "Revenue recognised per month"),
    ("report_overdue", "Overdue invoices", "Customer invoices past due, for dunning"),
    ("ledger_verify", "Ledger integrity", "Recompute the hash chain of every journal"),
)


def _args(schema) -> dict:
    from plugins.erp_finance.views import flash_errors, load

    raw = {k: v for k, v in request.args.items() if k in schema.fields and v}
    data, errors = load(schema, raw)
    if errors:
        flash_errors(errors)
        data, _ = load(schema, {})
    return data


def _amount_rows(section: dict, title: str) -> list[dict]:
    return [{"section": title, **row} for row in section["rows"]] + \
        [{"section": title, "code": "", "name": f"Total {title.lower()}", "amount": section["total"]}]


def register(bp: Blueprint) -> None:
    """Add the report pages to finance's blueprint."""

    @bp.route("/reports")
    @requires("finance.report.read")
    def reports_index():
        return render_template("erp_finance/reports.html", reports=REPORTS)

    @bp.route("/reports/trial-balance")
    @requires("finance.report.read")
    def report_trial_balance():
        args = _args(s.FinancePeriodArgs())
        report = reports.trial_balance(args.get("date_from"), args.get("date_to"))
        if request.args.get("format") == "csv":
            return csv_response("trial-balance.csv", attr_columns(
                "code", "name", "type", "opening", "debit", "credit", "closing"),
                report["rows"] + [{"code": "", "name": "Total", **report["totals"]}])
        return render_template("erp_finance/report_trial_balance.html", report=report)

    @bp.route("/reports/general-ledger")
    @requires("finance.report.read")
    def report_general_ledger():
        args = _args(s.GeneralLedgerArgs())
        account_id = args.get("account_id") or ledger.get_settings().receivable_account_id or 0
        try:
            report = reports.general_ledger(account_id, args.get("date_from"), args.get("date_to"),
                                            args.get("page", 1), 1000 if request.args.get("format") == "csv"
                                            else args.get("per_page", 200))
        except NotFound as exc:  # an unknown account: say so on the page
            flash(exc.message, "error")
            report = None
        if report is not None and request.args.get("format") == "csv":
            return csv_response(f"ledger-{report['account']['code']}.csv", attr_columns(
                "date", "number", "ref", "partner", "description", "debit", "credit", "balance"),
                report["rows"])
        return render_template("erp_finance/report_general_ledger.html", report=report,
                               accounts=records.account_options(), account_id=account_id)

    @bp.route("/reports/profit-and-loss")
    @requires("finance.report.read")
    def report_profit_and_loss():
        args = _args(s.FinancePeriodArgs())
        report = reports.profit_and_loss(args.get("date_from"), args.get("date_to"))
        if request.args.get("format") == "csv":
            rows = _amount_rows(report["income"], "Income") + _amount_rows(report["expense"], "Expenses")
            rows.append({"section": "", "code": "", "name": "Profit", "amount": report["profit"]})
            return csv_response("profit-and-loss.csv", attr_columns("section", "code", "name", "amount"), rows)
        return render_template("erp_finance/report_profit_and_loss.html", report=report)

    @bp.route("/reports/balance-sheet")
    @requires("finance.report.read")
    def report_balance_sheet():
        args = _args(s.FinanceAsOfArgs())
        report = reports.balance_sheet(args.get("as_of"))
        if request.args.get("format") == "csv":
            rows = (_amount_rows(report["assets"], "Assets") + _amount_rows(report["liabilities"], "Liabilities")
                    + _amount_rows(report["equity"], "Equity"))
            return csv_response("balance-sheet.csv", attr_columns("section", "code", "name", "amount"), rows)
        return render_template("erp_finance/report_balance_sheet.html", report=report)

    def aging_page(side: str):
        args = _args(s.FinanceAsOfArgs())
        report = reports.aging(side, args.get("as_of"))
        if request.args.get("format") == "csv":
            return csv_response(f"{side}s-aging.csv", attr_columns("name", *report["buckets"], "total"),
                                report["rows"] + [{"name": "Total", **report["totals"]}])
        return render_template("erp_finance/report_aging.html", report=report)

    @bp.route("/reports/receivables-aging")
    @requires("finance.report.read")
    def report_receivables_aging():
        return aging_page("receivable")

    @bp.route("/reports/payables-aging")
    @requires("finance.report.read")
    def report_payables_aging():
        return aging_page("payable")

    @bp.route("/reports/revenue-by-month")
    @requires("finance.report.read")
    def report_revenue():
        args = _args(s.FinancePeriodArgs())
        report = reports.revenue_by_month(args.get("date_from"), args.get("date_to"))
        if request.args.get("format") == "csv":
            return csv_response("revenue-by-month.csv", attr_columns("month", "revenue"), report["rows"])
        peak = max((r["revenue"] for r in report["rows"]), default=0) or 1
        return render_template("erp_finance/report_revenue.html", report=report, peak=peak)

    @bp.route("/reports/overdue")
    @requires("finance.report.read")
    def report_overdue():
        args = _args(s.OverdueInvoiceArgs())
        as_of = args.get("as_of") or ledger.today()
        rows = credit.overdue_invoices(as_of, args.get("min_days", 1))
        if request.args.get("format") == "csv":
            return csv_response("overdue-invoices.csv", attr_columns(
                "number", "customer", "email", "due_date", "days_overdue", "overdue_amount", "currency"), rows)
        return render_template("erp_finance/report_overdue.html", rows=rows, as_of=as_of,
                               min_days=args.get("min_days", 1))

    @bp.route("/ledger/verify")
    @requires("finance.report.read")
    def ledger_verify():
        results = ledger.verify_ledger()
        return render_template("erp_finance/verify.html", results=results,
                               ok=all(r.ok for r in results))
