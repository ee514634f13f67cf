"""Finance business operations: the only code that changes finance's state or emits events.

Plugins that depend on finance call these (the bridge calls ``find_customer``,
``create_customer``, ``get_customer``, ``lock_customer``, ``customer_status``, ``create_invoice``,
``post_invoice``, ``creditable_invoices``, ``credit_note_lines``, ``create_credit_note``,
``rates_for``). The operations live in one module per subject; this module gathers them.
"""
from plugins.erp_finance.credit import (CustomerStatus, customer_status, expected_payments,
                                        overdue_invoices, supplier_balance)
from plugins.erp_finance.invoicing import (CREDITABLE, cancel_invoice, compute_line,
                                           create_credit_note, create_invoice, credit_left,
                                           get_invoice, post_invoice, update_invoice)
from plugins.erp_finance.ledger import (check_lock_date, create_account, create_entry,
                                        create_exchange_rate, create_fiscal_year, create_journal,
                                        create_tax, delete_entry, fiscal_year_for, get_entry,
                                        get_settings, install_defaults, post_entry, rate_for,
                                        rates_for, reverse_entry, update_account, update_entry,
                                        update_exchange_rate, update_fiscal_year, update_journal,
                                        update_settings, update_tax, verify_ledger)
from plugins.erp_finance.parties import (FIELDS, create_customer, create_payment_term,
                                         create_supplier, find_customer, get_customer, get_supplier,
                                         installments, lock_customer, normalise_name, parse_schedule,
                                         update_customer, update_payment_term, update_supplier)
from plugins.erp_finance.payments import (allocate_payment, apply_credit_note, available_credits,
                                          cancel_payment, get_payment, register_payment)
from plugins.erp_finance.refunds import Creditable, creditable_invoices, credit_note_lines
from plugins.erp_finance.reports import revenue_by_month
from plugins.erp_finance.schedules import (create_schedule, get_schedule, run_billing_schedules,
                                           update_schedule)

__all__ = [
    "CREDITABLE", "FIELDS", "Creditable", "CustomerStatus", "allocate_payment", "apply_credit_note",
    "available_credits", "cancel_invoice", "cancel_payment", "check_lock_date", "compute_line",
    "create_account", "create_credit_note", "create_customer", "create_entry", "create_exchange_rate",
    "create_fiscal_year", "create_invoice", "create_journal", "create_payment_term",
    "create_schedule", "create_supplier", "create_tax", "credit_left", "credit_note_lines",
    "creditable_invoices", "customer_status", "delete_entry",
    "expected_payments", "find_customer", "fiscal_year_for", "get_customer", "get_entry", "get_invoice", "get_payment",
    "get_schedule", "get_settings", "get_supplier", "install_defaults", "installments",
    "lock_customer", "normalise_name", "overdue_invoices", "parse_schedule", "post_entry", "post_invoice",
    "rate_for", "rates_for", "register_payment", "revenue_by_month", "reverse_entry", "run_billing_schedules",
    "supplier_balance",
    "update_account", "update_customer", "update_entry", "update_exchange_rate",
    "update_fiscal_year", "update_invoice", "update_journal", "update_payment_term",
    "update_schedule", "update_settings", "update_supplier", "update_tax", "verify_ledger",
]


def invoice_by_number(number: str, kind: str = "out_invoice"):
    """The posted document of ``kind`` with this number (``INV/2026/00007``), or None."""
    import sqlalchemy as sa

    from core.db import db
    from plugins.erp_finance.models import Invoice

    return db.session.scalar(sa.select(Invoice).where(Invoice.number == number, Invoice.kind == kind))


def sale_tax_for_rate(rate) -> int | None:
    """The id of the active, price-excluded sale tax at ``rate`` percent, or None."""
    import sqlalchemy as sa

    from core.db import db
    from plugins.erp_finance.models import Tax

    if not rate:
        return None
    return db.session.scalar(sa.select(Tax.id).where(Tax.scope == "sale", Tax.active.is_(True),
                                                     Tax.rate == rate, Tax.price_included.is_(False))
                             .order_by(Tax.id).limit(1))


def customers_with_email_domain(domain: str) -> list:
    """Customers whose billing email is at ``domain``, oldest first."""
    import sqlalchemy as sa

    from core.db import db
    from plugins.erp_finance.models import Customer

    return db.session.scalars(sa.select(Customer).where(Customer.email.ilike(f"%@{domain}"))
                              .order_by(Customer.id)).all()


def invoice_states(invoice_ids) -> dict[int, str]:
    """The state of each invoice in ``invoice_ids`` (missing ids are left out), in one query."""
    import sqlalchemy as sa

    from core.db import db
    from plugins.erp_finance.models import Invoice

    ids, states = list(invoice_ids), {}
    for start in range(0, len(ids), 1000):  # bounded IN lists: SQLite caps bound parameters
        states.update(db.session.execute(sa.select(Invoice.id, Invoice.state)
                                         .where(Invoice.id.in_(ids[start:start + 1000]))).all())
    return states
