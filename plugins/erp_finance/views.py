"""Finance pages: thin views that parse a form, call a service and render or redirect."""
from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.api import paginate
from core.db import db
from core.errors import TandemError, ValidationFailed
from core.forms import load_form
from core.permissions import requires
from core.records import add_record_pages
from plugins.erp_finance import credit, ledger, queries, records, services
from plugins.erp_finance import schemas as s
from plugins.erp_finance.models import KIND_LABELS, Allocation, BillingSchedule, Invoice, Journal, Payment, Tax

bp = Blueprint("erp_finance", __name__, url_prefix="/finance", template_folder="templates")
for _rt in records.RECORD_TYPES:
    add_record_pages(bp, _rt, "erp_finance/party_detail.html" if _rt.name in ("customer", "supplier")
                     else None)


# --- helpers ---


def form_lines(prefix: str, names) -> list[dict]:
    """Rows of a line table posted as ``<prefix>-<n>-<field>``; blank rows are dropped."""
    rows: dict[int, dict] = {}
    pattern = re.compile(rf"^{prefix}-(\d+)-(\w+)$")
    for key, value in request.form.items():
        match = pattern.match(key)
        if match and match.group(2) in names:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return [{k: v for k, v in rows[i].items() if v != ""} for i in sorted(rows)
            if any(v for v in rows[i].values())]


def plain(value):
    """A stored number as a person types it (95.0000 -> 95), for form fields."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


def line_values(line, names) -> dict:
    return {name: plain(getattr(line, name)) for name in names}


def load(schema: ma.Schema, data: dict) -> tuple[dict | None, dict]:
    try:
        return schema.load(data), {}
    except ma.ValidationError as exc:
        return None, exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}


def flash_errors(errors: dict) -> None:
    """Field errors of query arguments or a one-button form, as one flash message."""
    flash("; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in errors.items()), "error")


def done(message: str, endpoint: str, **values):
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def refused(error: TandemError, endpoint: str, **values):
    """Undo what the failed action wrote (a redirect would commit it), then say why."""
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for(endpoint, **values))


def list_page(schema: ma.Schema, query, sortable: dict, default_sort: str) -> dict:
    """One page of a filtered list from the query string; bad filters are flashed and dropped."""
    args, errors = load(schema, {k: v for k, v in request.args.items() if v and k in schema.fields})
    if errors:
        flash_errors(errors)
        args = {"page": 1, "per_page": 50}
    try:
        return paginate(query(args), args, sortable, default_sort)
    except ValidationFailed as exc:
        flash_errors(exc.errors)
        return paginate(query(args), {"page": 1, "per_page": 50}, sortable, default_sort)


def options(model, label, where=None, order=None):
    stmt = sa.select(model)
    if where is not None:
        stmt = stmt.where(where)
    return [(r.id, label(r)) for r in db.session.scalars(stmt.order_by(order if order is not None else model.id))]


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


# --- setup and settings ---


@bp.route("/setup")
@requires("finance.account.read")
def setup():
    counts = {rt.name: db.session.scalar(sa.select(sa.func.count()).select_from(rt.model))
              for rt in records.RECORD_TYPES}
    return render_template("erp_finance/setup.html", record_types=records.RECORD_TYPES[2:],
                           counts=counts, settings=ledger.get_settings())


SETTINGS_SELECTS = {
    "receivable_account_id": ("Receivable account", lambda: records.account_options()),
    "payable_account_id": ("Payable account", lambda: records.account_options()),
    "income_account_id": ("Default income account", lambda: records.account_options(False)),
    "expense_account_id": ("Default expense account", lambda: records.account_options(False)),
    "fx_account_id": ("Exchange differences account", lambda: records.account_options(False)),
    "sale_journal_id": ("Sales journal", lambda: options(Journal, lambda j: f"{j.code} {j.name}", Journal.type == "sale")),
    "purchase_journal_id": ("Purchase journal", lambda: options(Journal, lambda j: f"{j.code} {j.name}", Journal.type == "purchase")),
    "bank_journal_id": ("Default bank journal", lambda: options(Journal, lambda j: f"{j.code} {j.name}", Journal.type.in_(("bank", "cash")))),
    "misc_journal_id": ("Miscellaneous journal", lambda: options(Journal, lambda j: f"{j.code} {j.name}", Journal.type == "general")),
    "sale_tax_id": ("Default sales tax", lambda: options(Tax, lambda t: t.name, Tax.scope == "sale")),
    "purchase_tax_id": ("Default purchase tax", lambda: options(Tax, lambda t: t.name, Tax.scope == "purchase")),
}


@bp.route("/settings", methods=["GET", "POST"])
@requires("finance.settings.read")
def settings_page():
    settings = ledger.get_settings()
    errors = {}
    values = request.form if request.method == "POST" else s.FinanceSettingsSchema().dump(settings)
    if request.method == "POST":
        if not current_user.can("finance.settings.write"):
            abort(403)
        data, errors = load_form(s.FinanceSettingsSchema())
        if data is not None:
            try:
                ledger.update_settings(data)
                return done("Settings saved.", ".settings_page")
            except ValidationFailed as exc:
                errors = exc.errors
    selects = {key: (label, make()) for key, (label, make) in SETTINGS_SELECTS.items()}
    return render_template("erp_finance/settings.html", values=values, errors=errors,
                           selects=selects, currencies=s.CURRENCIES), 422 if errors else 200


# --- parties: the customer page shows the credit status ---


@bp.app_context_processor
def _finance_helpers():
    return {"finance_kind_label": KIND_LABELS, "finance_party": party_context}


def party_context(record, kind: str) -> dict:
    """Open documents, credits and (customers) the credit status, for the party page."""
    column = Invoice.customer_id if kind == "customer" else Invoice.supplier_id
    documents = db.session.scalars(sa.select(Invoice).where(column == record.id)
                                   .order_by(Invoice.date.desc(), Invoice.id.desc()).limit(20)).all()
    credits = services.available_credits(**{f"{kind}_id": record.id})
    status = services.customer_status(record.id) if kind == "customer" else None
    balance = None if kind == "customer" else credit.supplier_balance(record.id)
    return {"documents": documents, "credits": credits, "status": status, "supplier_balance": balance}


# --- journal entries ---

ENTRY_LINE_FIELDS = ("account_id", "debit", "credit", "customer_id", "supplier_id", "description")


@bp.route("/entries")
@requires("finance.entry.read")
def entries():
    page = list_page(s.EntryListArgs(), queries.entries, queries.ENTRY_SORT, "-date,-id")
    return render_template("erp_finance/entries.html", page=page,
                           journals=db.session.scalars(sa.select(Journal).order_by(Journal.code)).all())


def _entry_form_context(values: dict, lines: list[dict], errors: dict) -> dict:
    return {"values": values, "lines": lines + [{} for _ in range(max(2, 6 - len(lines)))],
            "errors": errors, "journals": options(Journal, lambda j: f"{j.code} {j.name}", Journal.active.is_(True)),
            "accounts": records.account_options(False),
            "customers": records.CUSTOMER.choices(chosen=[ln.get("customer_id") for ln in lines]),
            "suppliers": records.SUPPLIER.choices(chosen=[ln.get("supplier_id") for ln in lines]),
            "customers_url": records.CUSTOMER.choices_url(), "suppliers_url": records.SUPPLIER.choices_url()}


@bp.route("/entries/new", methods=["GET", "POST"])
@requires("finance.entry.write")
def entry_new():
    return _entry_form(None)


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@requires("finance.entry.write")
def entry_edit(entry_id):
    return _entry_form(ledger.get_entry(entry_id))


def _entry_form(entry):
    if entry is not None and entry.state != "draft":
        flash(f"{entry.number} is posted and cannot be changed; reverse it instead.", "error")
        return redirect(url_for(".entry_detail", entry_id=entry.id))
    errors = {}
    if request.method == "POST":
        values = request.form
        lines = form_lines("lines", ENTRY_LINE_FIELDS)
        raw = {k: v for k, v in request.form.items() if k in ("journal_id", "date", "ref", "narration") and v}
        data, errors = load(s.EntryInputSchema(), {**raw, "lines": lines})
        if data is not None:
            try:
                post = request.form.get("action") == "post"
                if post and not current_user.can("finance.entry.post"):
                    abort(403)
                entry = ledger.create_entry(data) if entry is None else ledger.update_entry(entry, data)
                if post:
                    ledger.post_entry(entry)
                    return done(f"Entry {entry.number} posted.", ".entry_detail", entry_id=entry.id)
                return done("Draft entry saved.", ".entry_detail", entry_id=entry.id)
            except ValidationFailed as exc:
                errors = exc.errors
            except TandemError as exc:
                db.session.rollback()
                errors = {"_schema": [exc.message]}
    elif entry is not None:
        values = {"journal_id": entry.journal_id, "date": entry.date, "ref": entry.ref or "",
                  "narration": entry.narration or ""}
        lines = [{k: plain(getattr(ln, k)) if getattr(ln, k) else "" for k in ENTRY_LINE_FIELDS}
                 for ln in entry.lines]
    else:
        values = {"journal_id": ledger.get_settings().misc_journal_id, "date": ledger.today()}
        lines = []
    return render_template("erp_finance/entry_form.html", entry=entry,
                           **_entry_form_context(values, lines, errors)), 422 if errors else 200


@bp.route("/entries/<int:entry_id>")
@requires("finance.entry.read")
def entry_detail(entry_id):
    entry = ledger.get_entry(entry_id)
    document = db.session.scalar(sa.select(Invoice).where(Invoice.entry_id == entry.id))
    payment = db.session.scalar(sa.select(Payment).where(Payment.entry_id == entry.id))
    return render_template("erp_finance/entry_detail.html", entry=entry, document=document,
                           payment=payment, reversal=ledger.reversal_of(entry))


@bp.route("/entries/<int:entry_id>/post", methods=["POST"])
@requires("finance.entry.post")
def entry_post(entry_id):
    try:
        entry = ledger.post_entry(ledger.get_entry(entry_id))
    except TandemError as exc:
        return refused(exc, ".entry_detail", entry_id=entry_id)
    return done(f"Entry {entry.number} posted.", ".entry_detail", entry_id=entry_id)


@bp.route("/entries/<int:entry_id>/reverse", methods=["POST"])
@requires("finance.entry.post")
def entry_reverse(entry_id):
    data, errors = load(s.EntryReverseSchema(), {k: v for k, v in request.form.items()
                                            if k in ("date", "reason") and v})
    if errors:
        flash_errors(errors)
        return redirect(url_for(".entry_detail", entry_id=entry_id))
    try:
        reversal = ledger.reverse_entry(ledger.get_entry(entry_id), data.get("date"), data.get("reason"))
    except TandemError as exc:
        return refused(exc, ".entry_detail", entry_id=entry_id)
    return done(f"Reversed by {reversal.number}.", ".entry_detail", entry_id=reversal.id)


@bp.route("/entries/<int:entry_id>/delete", methods=["POST"])
@requires("finance.entry.write")
def entry_delete(entry_id):
    try:
        ledger.delete_entry(ledger.get_entry(entry_id))
    except TandemError as exc:
        return refused(exc, ".entry_detail", entry_id=entry_id)
    return done("Draft entry deleted.", ".entries")


# --- invoices and bills ---

DOC_LINE_FIELDS = ("description", "product_ref", "quantity", "unit_price", "discount", "tax_id", "account_id")
SIDES = {
    "invoice": {"kinds": ("out_invoice", "out_refund"), "party": "customer", "title": "Invoices",
                "list": "invoices", "new_label": "New invoice"},
    "bill": {"kinds": ("in_invoice", "in_refund"), "party": "supplier", "title": "Vendor bills",
             "list": "bills", "new_label": "New vendor bill"},
}


def side_of(invoice: Invoice) -> str:
    return "invoice" if invoice.is_customer_side else "bill"


def _document_pages(side: str, conf: dict) -> None:
    kinds, party = conf["kinds"], conf["party"]
    read, write, post = f"finance.{side}.read", f"finance.{side}.write", f"finance.{side}.post"

    def get(invoice_id):
        return services.get_invoice(invoice_id, kinds)

    def list_view():
        page = list_page(s.InvoiceListArgs(), lambda args: queries.documents(kinds, args),
                         queries.DOCUMENT_SORT, "-date,-id")
        return render_template("erp_finance/documents.html", page=page, side=side, conf=conf)

    def form_view(invoice_id=None):
        invoice = get(invoice_id) if invoice_id is not None else None
        if invoice is not None and invoice.state != "draft":
            flash(f"{invoice.label} is {invoice.state} and cannot be changed.", "error")
            return redirect(url_for(f".{side}_detail", invoice_id=invoice.id))
        errors = {}
        if request.method == "POST":
            values = request.form
            lines = form_lines("lines", DOC_LINE_FIELDS)
            raw = {k: v for k, v in request.form.items()
                   if k in (f"{party}_id", "date", "currency", "payment_term_id", "reference", "notes") and v}
            data, errors = load(s.InvoiceInputSchema(), {**raw, "lines": lines})
            if data is not None:
                try:
                    if invoice is None:
                        invoice = services.create_invoice(data, kind=kinds[0])
                    else:
                        services.update_invoice(invoice, data)
                    if request.form.get("action") == "post":
                        if not current_user.can(post):
                            abort(403)
                        services.post_invoice(invoice)
                        return done(f"{invoice.number} posted.", f".{side}_detail", invoice_id=invoice.id)
                    return done(f"{invoice.label} saved.", f".{side}_detail", invoice_id=invoice.id)
                except ValidationFailed as exc:
                    errors = exc.errors
                except TandemError as exc:
                    db.session.rollback()
                    invoice = get(invoice_id) if invoice_id is not None else None
                    errors = {"_schema": [exc.message]}
        elif invoice is not None:
            values = {f"{party}_id": getattr(invoice, f"{party}_id"), "date": invoice.date,
                      "currency": invoice.currency, "payment_term_id": invoice.payment_term_id,
                      "reference": invoice.reference or "", "notes": invoice.notes or ""}
            lines = [line_values(ln, DOC_LINE_FIELDS) for ln in invoice.lines]
        else:
            values = {"date": ledger.today(), f"{party}_id": request.args.get(f"{party}_id", "")}
            tax = ledger.get_settings().sale_tax_id if side == "invoice" else ledger.get_settings().purchase_tax_id
            lines = [{"quantity": 1, "tax_id": tax}]
        party_type = records.CUSTOMER if party == "customer" else records.SUPPLIER
        scope = "sale" if side == "invoice" else "purchase"
        return render_template(
            "erp_finance/document_form.html", invoice=invoice, side=side, conf=conf, values=values,
            errors=errors, lines=lines + [{} for _ in range(max(2, 5 - len(lines)))],
            parties=party_type.choices(chosen=values.get(f"{party}_id")), parties_url=party_type.choices_url(),
            taxes=options(Tax, lambda t: t.name, sa.and_(Tax.scope == scope, Tax.active.is_(True)), Tax.name),
            accounts=records.account_options(False), terms=records.term_options(),
            currencies=s.CURRENCIES), 422 if errors else 200

    def detail_view(invoice_id):
        invoice = get(invoice_id)
        allocations = db.session.scalars(sa.select(Allocation).where(
            sa.or_(Allocation.invoice_id == invoice.id, Allocation.credit_note_id == invoice.id))
            .order_by(Allocation.date, Allocation.id)).all()
        credit_notes = db.session.scalars(sa.select(Invoice).where(Invoice.origin_id == invoice.id)
                                          .order_by(Invoice.id)).all()
        party_key = f"{party}_id"
        credits = services.available_credits(**{party_key: getattr(invoice, party_key)}) \
            if not invoice.is_refund and invoice.state in ("posted", "partially_paid") else []
        targets = []
        if invoice.is_refund and invoice.state in ("posted", "partially_paid"):
            targets = db.session.scalars(sa.select(Invoice).where(
                Invoice.kind == kinds[0], getattr(Invoice, party_key) == getattr(invoice, party_key),
                Invoice.currency == invoice.currency, Invoice.state.in_(("posted", "partially_paid")))
                .order_by(Invoice.due_date)).all()
        return render_template("erp_finance/document_detail.html", invoice=invoice, side=side,
                               conf=conf, allocations=allocations, credit_notes=credit_notes,
                               credits=[c for c in credits if c.currency == invoice.currency],
                               targets=targets)

    def action(invoice_id, operation, message):
        try:
            result = operation(get(invoice_id))
        except TandemError as exc:
            return refused(exc, f".{side}_detail", invoice_id=invoice_id)
        return done(message(result), f".{side}_detail", invoice_id=getattr(result, "id", invoice_id))

    def post_view(invoice_id):
        return action(invoice_id, services.post_invoice, lambda inv: f"{inv.number} posted.")

    def cancel_view(invoice_id):
        return action(invoice_id, services.cancel_invoice, lambda inv: f"{inv.label} cancelled.")

    def credit_view(invoice_id):
        invoice = get(invoice_id)
        errors, values = {}, request.form if request.method == "POST" else {"date": ledger.today()}
        lines = [line_values(ln, DOC_LINE_FIELDS) for ln in invoice.lines]
        if request.method == "POST":
            full = request.form.get("mode", "full") == "full"
            lines = form_lines("lines", DOC_LINE_FIELDS)
            raw = {k: v for k, v in request.form.items() if k in ("date", "reason") and v}
            data, errors = load(s.CreditNoteInputSchema(), {**raw, **({} if full else {"lines": lines})})
            if data is not None:
                try:
                    note = services.create_credit_note(invoice, data)
                    return done(f"Credit note {note.number} issued.", f".{side}_detail", invoice_id=note.id)
                except ValidationFailed as exc:
                    errors = exc.errors
                except TandemError as exc:
                    db.session.rollback()
                    invoice = get(invoice_id)
                    errors = {"_schema": [exc.message]}
        scope = "sale" if side == "invoice" else "purchase"
        return render_template(
            "erp_finance/credit_note_form.html", invoice=invoice, side=side, values=values, errors=errors,
            lines=lines, taxes=options(Tax, lambda t: t.name, Tax.scope == scope, Tax.name),
            accounts=records.account_options(False)), 422 if errors else 200

    def apply_view(invoice_id):
        """Settle this invoice with a credit (payment rest or credit note), or apply this credit note."""
        invoice = get(invoice_id)
        try:
            amount = ledger.money(request.form["amount"]) if request.form.get("amount") else None
            source, source_id = request.form.get("source"), int(request.form.get("source_id") or 0)
            if source == "payment":
                services.allocate_payment(services.get_payment(source_id), invoice, amount)
            elif source == "credit note":
                services.apply_credit_note(services.get_invoice(source_id, kinds), invoice, amount)
            else:  # this credit note, on the invoice chosen
                services.apply_credit_note(invoice, services.get_invoice(source_id, kinds), amount)
        except TandemError as exc:
            return refused(exc, f".{side}_detail", invoice_id=invoice_id)
        except ValueError:
            abort(400)
        return done("Credit applied.", f".{side}_detail", invoice_id=invoice_id)

    def print_view(invoice_id):
        invoice = get(invoice_id)
        return render_template("erp_finance/document_print.html", invoice=invoice,
                               settings=ledger.get_settings(),
                               taxes={t.id: t for t in db.session.scalars(sa.select(Tax))})

    base = f"/{conf['list']}"
    rules = [
        (base, f"{side}s", list_view, read, ["GET"]),
        (f"{base}/new", f"{side}_new", form_view, write, ["GET", "POST"]),
        (f"{base}/<int:invoice_id>", f"{side}_detail", detail_view, read, ["GET"]),
        (f"{base}/<int:invoice_id>/edit", f"{side}_edit", form_view, write, ["GET", "POST"]),
        (f"{base}/<int:invoice_id>/post", f"{side}_post", post_view, post, ["POST"]),
        (f"{base}/<int:invoice_id>/cancel", f"{side}_cancel", cancel_view, write, ["POST"]),
        (f"{base}/<int:invoice_id>/credit-note", f"{side}_credit_note", credit_view, post, ["GET", "POST"]),
        (f"{base}/<int:invoice_id>/apply", f"{side}_apply", apply_view, "finance.payment.write", ["POST"]),
        (f"{base}/<int:invoice_id>/print", f"{side}_print", print_view, read, ["GET"]),
    ]
    for rule, endpoint, view, permission, methods in rules:
        bp.add_url_rule(rule, endpoint, requires(permission)(view), methods=methods)


for _side, _conf in SIDES.items():
    _document_pages(_side, _conf)


# --- payments ---


@bp.route("/payments")
@requires("finance.payment.read")
def payments():
    page = list_page(s.PaymentListArgs(), queries.payments, queries.PAYMENT_SORT, "-date,-id")
    return render_template("erp_finance/payments.html", page=page)


@bp.route("/payments/new", methods=["GET", "POST"])
@requires("finance.payment.write")
def payment_new():
    errors = {}
    invoice = db.session.get(Invoice, request.args.get("invoice_id", type=int) or 0)
    if request.method == "POST":
        values = request.form
        allocations = form_lines("alloc", ("invoice_id", "amount"))
        raw = {k: v for k, v in request.form.items()
               if k in ("customer_id", "supplier_id", "amount", "date", "currency", "journal_id", "reference") and v}
        raw["auto_allocate"] = bool(request.form.get("auto_allocate"))
        data, errors = load(s.PaymentInputSchema(), {**raw, "allocations": allocations})
        if data is not None:
            try:
                payment = services.register_payment(data)
                return done(f"Payment {payment.number} registered.", ".payment_detail", payment_id=payment.id)
            except ValidationFailed as exc:
                errors = exc.errors
            except TandemError as exc:
                db.session.rollback()
                errors = {"_schema": [exc.message]}
        lines = allocations
    elif invoice is not None and invoice.state in ("posted", "partially_paid") and not invoice.is_refund:
        party = "customer_id" if invoice.is_customer_side else "supplier_id"
        values = {party: getattr(invoice, party), "amount": invoice.amount_residual, "date": ledger.today(),
                  "currency": invoice.currency, "reference": invoice.number}
        lines = [{"invoice_id": invoice.id, "amount": invoice.amount_residual}]
    else:
        values, lines = {"date": ledger.today()}, []
    open_docs = db.session.scalars(sa.select(Invoice).where(
        Invoice.kind.in_(("out_invoice", "in_invoice")), Invoice.state.in_(("posted", "partially_paid")))
        .order_by(Invoice.due_date).limit(500)).all()
    return render_template(
        "erp_finance/payment_form.html", values=values, errors=errors,
        lines=lines + [{} for _ in range(max(1, 4 - len(lines)))], open_docs=open_docs,
        customers=records.CUSTOMER.choices(chosen=values.get("customer_id")),
        suppliers=records.SUPPLIER.choices(chosen=values.get("supplier_id")),
        customers_url=records.CUSTOMER.choices_url(), suppliers_url=records.SUPPLIER.choices_url(),
        journals=options(Journal, lambda j: f"{j.code} {j.name}", Journal.type.in_(("bank", "cash"))),
        currencies=s.CURRENCIES), 422 if errors else 200


@bp.route("/payments/<int:payment_id>")
@requires("finance.payment.read")
def payment_detail(payment_id):
    payment = services.get_payment(payment_id)
    column = Invoice.customer_id if payment.direction == "inbound" else Invoice.supplier_id
    targets = db.session.scalars(sa.select(Invoice).where(
        column == (payment.customer_id or payment.supplier_id),
        Invoice.kind == ("out_invoice" if payment.direction == "inbound" else "in_invoice"),
        Invoice.currency == payment.currency, Invoice.state.in_(("posted", "partially_paid")))
        .order_by(Invoice.due_date)).all() if payment.state == "posted" and payment.amount_unallocated else []
    return render_template("erp_finance/payment_detail.html", payment=payment, targets=targets)


@bp.route("/payments/<int:payment_id>/allocate", methods=["POST"])
@requires("finance.payment.write")
def payment_allocate(payment_id):
    try:
        amount = ledger.money(request.form["amount"]) if request.form.get("amount") else None
        invoice = db.session.get(Invoice, int(request.form.get("invoice_id") or 0))
        if invoice is None:
            raise ValidationFailed({"invoice_id": ["Choose an invoice."]}, "Choose an invoice.")
        services.allocate_payment(services.get_payment(payment_id), invoice, amount)
    except TandemError as exc:
        return refused(exc, ".payment_detail", payment_id=payment_id)
    except ValueError:
        abort(400)
    return done("Payment allocated.", ".payment_detail", payment_id=payment_id)


@bp.route("/payments/<int:payment_id>/cancel", methods=["POST"])
@requires("finance.payment.write")
def payment_cancel(payment_id):
    try:
        payment = services.cancel_payment(services.get_payment(payment_id), reason=request.form.get("reason"))
    except TandemError as exc:
        return refused(exc, ".payment_detail", payment_id=payment_id)
    return done(f"Payment {payment.number} cancelled.", ".payment_detail", payment_id=payment_id)


# --- billing schedules ---


@bp.route("/schedules")
@requires("finance.schedule.read")
def schedules():
    rows = db.session.scalars(sa.select(BillingSchedule).order_by(
        BillingSchedule.active.desc(), BillingSchedule.next_date, BillingSchedule.name)).all()
    return render_template("erp_finance/schedules.html", schedules=rows, today=ledger.today())


@bp.route("/schedules/new", methods=["GET", "POST"])
@requires("finance.schedule.write")
def schedule_new():
    return _schedule_form(None)


@bp.route("/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@requires("finance.schedule.write")
def schedule_edit(schedule_id):
    return _schedule_form(services.get_schedule(schedule_id))


def _schedule_form(schedule):
    errors = {}
    if request.method == "POST":
        values = request.form
        lines = form_lines("lines", DOC_LINE_FIELDS)
        raw = {k: v for k, v in request.form.items()
               if k in ("name", "customer_id", "period", "start_date", "end_date", "currency") and v}
        raw.update({k: bool(request.form.get(k)) for k in ("auto_post", "active")})
        data, errors = load(s.BillingScheduleSchema(), {**raw, "lines": lines})
        if data is not None:
            try:
                schedule = services.create_schedule(data) if schedule is None \
                    else services.update_schedule(schedule, data)
                return done(f"Schedule “{schedule.name}” saved.", ".schedule_detail", schedule_id=schedule.id)
            except ValidationFailed as exc:
                errors = exc.errors
    elif schedule is not None:
        values = {k: getattr(schedule, k) for k in ("name", "customer_id", "period", "start_date",
                                                    "end_date", "currency", "auto_post", "active")}
        lines = [line_values(ln, DOC_LINE_FIELDS) for ln in schedule.lines]
    else:
        values = {"period": "monthly", "start_date": ledger.today(), "auto_post": True, "active": True}
        lines = [{"quantity": 1, "tax_id": ledger.get_settings().sale_tax_id}]
    return render_template(
        "erp_finance/schedule_form.html", schedule=schedule, values=values, errors=errors,
        lines=lines + [{} for _ in range(max(1, 4 - len(lines)))],
        customers=records.CUSTOMER.choices(chosen=values.get("customer_id")),
        customers_url=records.CUSTOMER.choices_url(),
        taxes=options(Tax, lambda t: t.name, Tax.scope == "sale", Tax.name),
        accounts=records.account_options(False), currencies=s.CURRENCIES), 422 if errors else 200


@bp.route("/schedules/<int:schedule_id>")
@requires("finance.schedule.read")
def schedule_detail(schedule_id):
    schedule = services.get_schedule(schedule_id)
    invoices = db.session.scalars(sa.select(Invoice).where(Invoice.schedule_id == schedule.id)
                                  .order_by(Invoice.period_start.desc())).all()
    return render_template("erp_finance/schedule_detail.html", schedule=schedule, invoices=invoices)


@bp.route("/schedules/run", methods=["POST"])
@requires("finance.invoice.post")
def schedules_run():
    try:
        created = services.run_billing_schedules()
    except TandemError as exc:
        return refused(exc, ".schedules")
    return done(f"{len(created)} invoice(s) created." if created else "No schedule was due.", ".schedules")


from plugins.erp_finance import views_reports  # noqa: E402  (the report pages, on this blueprint)

views_reports.register(bp)
