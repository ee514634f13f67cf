"""``/api/v1/finance``: finance as JSON. Each endpoint parses, calls a service, dumps."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa

from core.api import ApiBlueprint, ListArgs, page_schema, paginate
from core.db import db
from core.errors import RuleViolation
from core.permissions import requires
from core.records import add_record_api
from plugins.erp_finance import credit, ledger, queries, reports, services
from plugins.erp_finance import schemas as s
from plugins.erp_finance.models import Invoice, JournalEntry
from plugins.erp_finance.records import RECORD_TYPES

blp = ApiBlueprint("finance", __name__)
for _rt in RECORD_TYPES:
    add_record_api(blp, _rt)


@blp.route("/customers/<int:customer_id>/status", methods=["GET"])
@requires("finance.customer.read")
@blp.response(200, s.CustomerStatusSchema)
def customer_status(customer_id):
    """Balance, overdue amount, oldest overdue days, credit limit and left, last payment."""
    return services.customer_status(customer_id)


@blp.route("/settings", methods=["GET"])
@requires("finance.settings.read")
@blp.response(200, s.FinanceSettingsSchema)
def get_settings():
    """The company's accounting settings (currency, lock date, default accounts and journals)."""
    return ledger.get_settings()


@blp.route("/settings", methods=["PATCH"])
@requires("finance.settings.write")
@blp.arguments(s.FinanceSettingsSchema(partial=True))
@blp.response(200, s.FinanceSettingsSchema)
def update_settings(data):
    """Change settings; the lock date refuses postings on or before it."""
    return ledger.update_settings(data)


# --- journal entries ---


@blp.route("/entries", methods=["GET"])
@requires("finance.entry.read")
@blp.arguments(s.EntryListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(s.EntrySchema))
def list_entries(args):
    """Journal entries: filter by journal, state and dates; ``q`` searches number and reference."""
    stmt = queries.entries(args).options(sa.orm.selectinload(JournalEntry.lines))
    return paginate(stmt, args, queries.ENTRY_SORT, "-date,-id")


@blp.route("/entries", methods=["POST"])
@requires("finance.entry.write")
@blp.arguments(s.EntryInputSchema)
@blp.response(201, s.EntrySchema)
def create_entry(data):
    """A manual entry, draft unless ``post`` is true (posting needs finance.entry.post)."""
    if data.get("post"):
        _require("finance.entry.post")
    return ledger.create_entry(data)


@blp.route("/entries/<int:entry_id>", methods=["GET"])
@requires("finance.entry.read")
@blp.response(200, s.EntrySchema)
def get_entry(entry_id):
    """One journal entry with its lines, number and hash."""
    return ledger.get_entry(entry_id)


@blp.route("/entries/<int:entry_id>", methods=["PATCH"])
@requires("finance.entry.write")
@blp.arguments(s.EntryInputSchema(partial=True))
@blp.response(200, s.EntrySchema)
def update_entry(data, entry_id):
    """Change a draft entry; a posted entry answers 409."""
    data.pop("post", None)
    return ledger.update_entry(ledger.get_entry(entry_id), data)


@blp.route("/entries/<int:entry_id>", methods=["DELETE"])
@requires("finance.entry.write")
@blp.response(204)
def delete_entry(entry_id):
    """Delete a draft entry; a posted entry answers 409."""
    ledger.delete_entry(ledger.get_entry(entry_id))


@blp.route("/entries/<int:entry_id>/post", methods=["POST"])
@requires("finance.entry.post")
@blp.response(200, s.EntrySchema)
def post_entry(entry_id):
    """Post a draft: it must balance and be dated after the lock date."""
    return ledger.post_entry(ledger.get_entry(entry_id))


@blp.route("/entries/<int:entry_id>/reverse", methods=["POST"])
@requires("finance.entry.post")
@blp.arguments(s.EntryReverseSchema)
@blp.response(201, s.EntrySchema)
def reverse_entry(data, entry_id):
    """Post the reversal of a posted manual entry."""
    return ledger.reverse_entry(ledger.get_entry(entry_id), data.get("date"), data.get("reason"))


def _require(permission: str) -> None:
    from flask_login import current_user

    from core.errors import TandemError

    if not current_user.can(permission):
        error = TandemError(f"Forbidden: permission {permission!r} required", code="forbidden")
        error.status = 403
        raise error


# --- invoices and bills: the same endpoints on both sides ---

SIDES = {
    "invoices": {"kinds": ("out_invoice", "out_refund"), "perm": "invoice", "party": "customer_id",
                 "what": "customer invoices and credit notes"},
    "bills": {"kinds": ("in_invoice", "in_refund"), "perm": "bill", "party": "supplier_id",
              "what": "vendor bills and supplier credit notes"},
}


def _document_routes(path: str, side: dict) -> None:
    kinds, perm = side["kinds"], side["perm"]

    def list_documents(args):
        stmt = queries.documents(kinds, args).options(sa.orm.selectinload(Invoice.lines),
                                                      sa.orm.selectinload(Invoice.installments))
        return paginate(stmt, args, queries.DOCUMENT_SORT, "-date,-id")

    def create_document(data):
        post = data.pop("post", False)
        if post:
            _require(f"finance.{perm}.post")
        invoice = services.create_invoice(data, kind=kinds[0])
        return services.post_invoice(invoice) if post else invoice

    def get_document(invoice_id):
        return services.get_invoice(invoice_id, kinds)

    def update_document(data, invoice_id):
        data.pop("post", None)
        return services.update_invoice(services.get_invoice(invoice_id, kinds), data)

    def post_document(invoice_id):
        return services.post_invoice(services.get_invoice(invoice_id, kinds))

    def cancel_document(invoice_id):
        return services.cancel_invoice(services.get_invoice(invoice_id, kinds))

    def credit_document(data, invoice_id):
        return services.create_credit_note(services.get_invoice(invoice_id, kinds), data)

    def apply_credit(data, invoice_id):
        credit_note = services.get_invoice(invoice_id, kinds)
        target = services.get_invoice(data["invoice_id"], kinds)
        return services.apply_credit_note(credit_note, target, data.get("amount"))

    docs = {list_documents: f"List {side['what']}: filter by state, party, kind, overdue; "
                            "``q`` searches number and reference.",
            create_document: f"Create a draft ({kinds[0]}); ``post`` posts it at once.",
            get_document: "One document with its lines and due dates.",
            update_document: "Change a draft (lines are replaced when given).",
            post_document: "Post a draft: journal entry, number, due dates.",
            cancel_document: "Cancel a draft (a posted document is corrected by a credit note).",
            credit_document: "Issue a credit note for a posted invoice: full, or partial with lines.",
            apply_credit: "Use what is left of a credit note on another invoice of the same party."}
    for func, doc in docs.items():
        func.__doc__ = doc
    read, write, post_perm = f"finance.{perm}.read", f"finance.{perm}.write", f"finance.{perm}.post"
    name = perm
    blp.route(f"/{path}", endpoint=f"{name}_documents", methods=["GET"])(requires(read)(
        blp.arguments(s.InvoiceListArgs, location="query", unknown=ma.RAISE)(
            blp.response(200, page_schema(s.InvoiceSchema))(list_documents))))
    blp.route(f"/{path}", endpoint=f"{name}_create", methods=["POST"])(requires(write)(
        blp.arguments(s.InvoiceInputSchema)(blp.response(201, s.InvoiceSchema)(create_document))))
    blp.route(f"/{path}/<int:invoice_id>", endpoint=f"{name}_get", methods=["GET"])(requires(read)(
        blp.response(200, s.InvoiceSchema)(get_document)))
    blp.route(f"/{path}/<int:invoice_id>", endpoint=f"{name}_update", methods=["PATCH"])(requires(write)(
        blp.arguments(s.InvoiceInputSchema(partial=True))(blp.response(200, s.InvoiceSchema)(update_document))))
    blp.route(f"/{path}/<int:invoice_id>/post", endpoint=f"{name}_post", methods=["POST"])(
        requires(post_perm)(blp.response(200, s.InvoiceSchema)(post_document)))
    blp.route(f"/{path}/<int:invoice_id>/cancel", endpoint=f"{name}_cancel", methods=["POST"])(
        requires(write)(blp.response(200, s.InvoiceSchema)(cancel_document)))
    blp.route(f"/{path}/<int:invoice_id>/credit-notes", endpoint=f"{name}_credit", methods=["POST"])(
        requires(post_perm)(blp.arguments(s.CreditNoteInputSchema)(
            blp.response(201, s.InvoiceSchema)(credit_document))))
    blp.route(f"/{path}/<int:invoice_id>/apply", endpoint=f"{name}_apply", methods=["POST"])(
        requires("finance.payment.write")(blp.arguments(s.AllocateSchema)(
            blp.response(201, s.AllocationSchema)(apply_credit))))


for _path, _side in SIDES.items():
    _document_routes(_path, _side)


# --- payments ---


@blp.route("/payments", methods=["GET"])
@requires("finance.payment.read")
@blp.arguments(s.PaymentListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(s.PaymentSchema))
def list_payments(args):
    """Payments received and made; filter by direction, state and party."""
    return paginate(queries.payments(args), args, queries.PAYMENT_SORT, "-date,-id")


@blp.route("/payments", methods=["POST"])
@requires("finance.payment.write")
@blp.arguments(s.PaymentInputSchema)
@blp.response(201, s.PaymentSchema)
def register_payment(data):
    """Register a payment and allocate it to one or several invoices; the rest is credit."""
    return services.register_payment(data)


@blp.route("/payments/<int:payment_id>", methods=["GET"])
@requires("finance.payment.read")
@blp.response(200, s.PaymentSchema)
def get_payment(payment_id):
    """One payment with its allocations."""
    return services.get_payment(payment_id)


@blp.route("/payments/<int:payment_id>/allocate", methods=["POST"])
@requires("finance.payment.write")
@blp.arguments(s.AllocateSchema)
@blp.response(201, s.AllocationSchema)
def allocate_payment(data, payment_id):
    """Use the unallocated rest of a payment on an invoice (all that fits when no amount)."""
    payment = services.get_payment(payment_id)
    invoice = db.session.get(Invoice, data["invoice_id"])
    if invoice is None:
        raise RuleViolation(f"document {data['invoice_id']} not found", code="not_found")
    return services.allocate_payment(payment, invoice, data.get("amount"))


@blp.route("/payments/<int:payment_id>/cancel", methods=["POST"])
@requires("finance.payment.write")
@blp.arguments(s.PaymentCancelSchema)
@blp.response(200, s.PaymentSchema)
def cancel_payment(data, payment_id):
    """Cancel a payment: its entry is reversed and its invoices are open again."""
    return services.cancel_payment(services.get_payment(payment_id), data.get("date"), data.get("reason"))


# --- billing schedules ---


@blp.route("/schedules", methods=["GET"])
@requires("finance.schedule.read")
@blp.arguments(ListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(s.BillingScheduleSchema))
def list_schedules(args):
    """Billing schedules (recurring invoices)."""
    from plugins.erp_finance.models import BillingSchedule

    stmt = sa.select(BillingSchedule)
    if args.get("q"):
        stmt = stmt.where(BillingSchedule.name.ilike(f"%{args['q']}%"))
    return paginate(stmt, args, {"id": BillingSchedule.id, "name": BillingSchedule.name,
                                 "next_date": BillingSchedule.next_date}, "next_date")


@blp.route("/schedules", methods=["POST"])
@requires("finance.schedule.write")
@blp.arguments(s.BillingScheduleSchema)
@blp.response(201, s.BillingScheduleSchema)
def create_schedule(data):
    """A billing schedule: customer, period, start and end dates, lines."""
    return services.create_schedule(data)


@blp.route("/schedules/<int:schedule_id>", methods=["GET"])
@requires("finance.schedule.read")
@blp.response(200, s.BillingScheduleSchema)
def get_schedule(schedule_id):
    """One billing schedule."""
    return services.get_schedule(schedule_id)


@blp.route("/schedules/<int:schedule_id>", methods=["PATCH"])
@requires("finance.schedule.write")
@blp.arguments(s.BillingScheduleSchema(partial=True))
@blp.response(200, s.BillingScheduleSchema)
def update_schedule(data, schedule_id):
    """Change a billing schedule."""
    return services.update_schedule(services.get_schedule(schedule_id), data)


@blp.route("/schedules/run", methods=["POST"])
@requires("finance.invoice.post")
@blp.arguments(s.RunSchedulesSchema)
@blp.response(200, page_schema(s.InvoiceSchema))
def run_schedules(data):
    """Create the invoices of every period started by ``date`` and not billed yet."""
    invoices = services.run_billing_schedules(data.get("date"))
    return {"items": invoices, "total": len(invoices), "page": 1, "per_page": max(len(invoices), 1)}


# --- credit control and reports ---


@blp.route("/reports/trial-balance", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.FinancePeriodArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.TrialBalanceSchema)
def trial_balance(args):
    """Per account: opening balance, period debits and credits, closing balance."""
    return reports.trial_balance(args.get("date_from"), args.get("date_to"))


@blp.route("/reports/general-ledger", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.GeneralLedgerArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.GeneralLedgerSchema)
def general_ledger(args):
    """The lines of one account (default: receivables) with a running balance."""
    account_id = args.get("account_id") or ledger.get_settings().receivable_account_id
    return reports.general_ledger(account_id or 0, args.get("date_from"), args.get("date_to"),
                                  args["page"], args["per_page"])


@blp.route("/reports/profit-and-loss", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.FinancePeriodArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.ProfitAndLossSchema)
def profit_and_loss(args):
    """Income, expenses and profit of a period (default: the year to date)."""
    return reports.profit_and_loss(args.get("date_from"), args.get("date_to"))


@blp.route("/reports/balance-sheet", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.FinanceAsOfArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.BalanceSheetSchema)
def balance_sheet(args):
    """Assets, liabilities and equity at a date."""
    return reports.balance_sheet(args.get("as_of"))


@blp.route("/reports/receivables-aging", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.FinanceAsOfArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.AgingSchema)
def receivables_aging(args):
    """What customers owe, per customer, by days past due."""
    return reports.aging("receivable", args.get("as_of"))


@blp.route("/reports/payables-aging", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.FinanceAsOfArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.AgingSchema)
def payables_aging(args):
    """What the business owes suppliers, per supplier, by days past due."""
    return reports.aging("payable", args.get("as_of"))


@blp.route("/reports/revenue-by-month", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.FinancePeriodArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.FinanceRevenueSchema)
def revenue_by_month(args):
    """Revenue recognised per month."""
    return reports.revenue_by_month(args.get("date_from"), args.get("date_to"))


@blp.route("/reports/overdue", methods=["GET"])
@requires("finance.report.read")
@blp.arguments(s.OverdueInvoiceArgs, location="query", unknown=ma.RAISE)
@blp.response(200, s.OverdueInvoicesSchema)
def overdue(args):
    """Overdue customer invoices, most overdue first (for dunning)."""
    as_of = args.get("as_of") or ledger.today()
    return {"as_of": as_of, "rows": credit.overdue_invoices(as_of, args["min_days"])}


@blp.route("/ledger/verify", methods=["GET"])
@requires("finance.report.read")
@blp.response(200, s.LedgerVerifySchema)
def verify(**_kwargs):
    """Recompute every journal's hash chain; names the first tampered entry of each."""
    results = ledger.verify_ledger()
    return {"ok": all(r.ok for r in results), "journals": results}
