"""How finance plugs into the kernel."""
from core import hookimpl
from core.contrib import MenuItem, Permission, Role, Widget

RECORDS = {  # record -> what it is, for the permission descriptions
    "customer": "customers, their credit limits and terms",
    "supplier": "suppliers and their terms",
    "account": "the chart of accounts",
    "journal": "journals",
    "tax": "taxes",
    "payment_term": "payment terms",
    "fiscal_year": "fiscal years",
    "exchange_rate": "exchange rates",
    "entry": "journal entries (drafts)",
    "invoice": "customer invoices and credit notes (drafts)",
    "bill": "vendor bills and supplier credit notes (drafts)",
    "payment": "payments and their allocations",
    "schedule": "billing schedules",
    "settings": "the accounting settings and the lock date",
}


@hookimpl
def register_blueprints():
    from plugins.erp_finance import api, views

    return [views.bp, api.blp]


@hookimpl
def register_permissions():
    permissions = []
    for record, what in RECORDS.items():
        permissions.append(Permission(f"finance.{record}.read", f"See {what}"))
        permissions.append(Permission(f"finance.{record}.write", f"Create and change {what}"))
    permissions += [
        Permission("finance.entry.post", "Post and reverse journal entries"),
        Permission("finance.invoice.post", "Post customer invoices and issue credit notes"),
        Permission("finance.bill.post", "Post vendor bills and supplier credit notes"),
        Permission("finance.report.read", "See financial reports, aging and the ledger check"),
    ]
    return permissions


READ_ONLY = tuple(f"finance.{record}.read" for record in RECORDS) + ("finance.report.read",)


@hookimpl
def register_roles():
    every = tuple(p.name for p in register_permissions())
    return [Role("Accountant", "Keeps the books and controls credit", every),
            Role("Finance viewer", "Sees the books, reports and credit status", READ_ONLY)]


@hookimpl
def register_menu():
    return [
        MenuItem("Customers", "erp_finance.customer_list", "finance.customer.read", order=40,
                 icon="customers"),
        MenuItem("Invoices", "erp_finance.invoices", "finance.invoice.read", order=41, icon="invoice"),
        MenuItem("Vendor bills", "erp_finance.bills", "finance.bill.read", order=42, icon="purchases"),
        MenuItem("Payments", "erp_finance.payments", "finance.payment.read", order=43, icon="payments"),
        MenuItem("Journal entries", "erp_finance.entries", "finance.entry.read", order=44, icon="journal"),
        MenuItem("Financial reports", "erp_finance.reports_index", "finance.report.read", order=45,
                 icon="reports"),
        MenuItem("Accounting setup", "erp_finance.setup", "finance.account.read", order=46,
                 icon="settings"),
    ]


@hookimpl
def register_dashboard_widgets():
    from plugins.erp_finance.reports import receivables_summary

    return [Widget(name="finance.receivables", title="Receivables aging",
                   template="erp_finance/widget_aging.html", permission="finance.report.read",
                   context=receivables_summary, order=40)]


@hookimpl
def register_cli_commands():
    from plugins.erp_finance.cli import finance_group

    return [finance_group]


@hookimpl
def on_module_installed(event):
    if event.name == "erp_finance":
        from plugins.erp_finance.ledger import install_defaults

        install_defaults()  # the chart etc. the first time; nothing when they exist


@hookimpl
def register_scheduled_jobs():
    """Billing schedules, checked hourly by ``tandem worker`` (each period billed once)."""
    from core.contrib import ScheduledJob

    return [ScheduledJob("finance.billing_schedules", 3600, billing_job)]


def billing_job(today=None) -> str:
    """Bill what is due on ``today`` (default: today); one line per invoice created."""
    from core.db import utcnow
    from plugins.erp_finance.schedules import run_billing_schedules

    invoices = run_billing_schedules(today or utcnow().date())
    return "; ".join(f"invoice {inv.label} for {inv.customer.name}" for inv in invoices) or "nothing due"


@hookimpl
def search(query, limit):
    from core.records import search_records
    from plugins.erp_finance.records import CUSTOMER, SUPPLIER

    return (search_records(CUSTOMER, query, limit, "Customer", lambda c: c.tax_id or "")
            + search_records(SUPPLIER, query, limit, "Supplier", lambda s: s.tax_id or "")
            + _search_invoices(query, limit))


def _search_invoices(query, limit):
    """Documents by number or reference, on the sides (invoices, bills) the user may read."""
    import sqlalchemy as sa
    from flask import url_for
    from flask_login import current_user

    from core.contrib import SearchResult
    from core.db import db
    from plugins.erp_finance.models import KIND_LABELS, Invoice

    sides = {"invoice": ("out_invoice", "out_refund"), "bill": ("in_invoice", "in_refund")}
    kinds = [k for side, ks in sides.items() if current_user.can(f"finance.{side}.read") for k in ks]
    if not kinds:
        return []
    stmt = (sa.select(Invoice).where(Invoice.kind.in_(kinds), sa.or_(
        Invoice.number.ilike(f"%{query}%"), Invoice.reference.ilike(f"%{query}%")))
        .order_by(Invoice.id.desc()).limit(limit))
    return [SearchResult(KIND_LABELS[i.kind], i.label,
                         url_for("erp_finance." + ("invoice" if i.is_customer_side else "bill") + "_detail",
                                 invoice_id=i.id),
                         f"{i.partner.name} · {i.amount_total} {i.currency} · {i.state}")
            for i in db.session.scalars(stmt)]


@hookimpl
def load_demo_data(progress):
    from plugins.erp_finance.demo import load

    load(progress)
