"""How finance's plain records are listed, searched, filtered and edited (see ``core.records``)."""
import sqlalchemy as sa

from core.db import db
from core.records import Column, FormField, RecordType, held_record_label
from plugins.erp_finance import ledger, parties
from plugins.erp_finance.models import (ACCOUNT_TYPES, JOURNAL_TYPES, Account, Customer,
                                        ExchangeRate, FiscalYear, Journal, PaymentTerm, Supplier, Tax)
from plugins.erp_finance.schemas import (CURRENCIES, LedgerAccountSchema, CustomerSchema,
                                         ExchangeRateSchema, FiscalYearSchema, JournalSchema,
                                         PaymentTermSchema, SupplierSchema, TaxSchema)


def account_options(include_control: bool = True) -> list[tuple[int, str]]:
    stmt = sa.select(Account.id, Account.code, Account.name).where(Account.active.is_(True))
    if not include_control:
        stmt = stmt.where(Account.control.is_(None))
    return [(i, f"{code} {name}") for i, code, name in db.session.execute(stmt.order_by(Account.code))]


# an account a record holds that the select no longer offers (inactive, or a control account)
_held_account = held_record_label(Account, lambda a: f"{a.code} {a.name}", note="not offered")


def term_options() -> list[tuple[int, str]]:
    return [(t.id, t.name) for t in db.session.scalars(
        sa.select(PaymentTerm).where(PaymentTerm.active.is_(True)).order_by(PaymentTerm.name))]


def currency_options() -> list[tuple[str, str]]:
    return [(c, c) for c in CURRENCIES]


def _party_type(model, schema, name, plural, create, update, blueprint="erp_finance"):
    return RecordType(
        plugin="finance", blueprint=blueprint, name=name, plural=plural, model=model,
        schema=schema, create=create, update=update,
        columns=(Column("name", "Name", sort="name", link=True), Column("tax_id", "Tax id"),
                 Column("currency", "Currency", sort="currency"),
                 Column("payment_terms_days", "Terms (days)", sort="payment_terms_days"),
                 Column("credit_limit", "Credit limit", sort="credit_limit")),
        form=(FormField("name", "Name", required=True), FormField("tax_id", "Tax id"),
              FormField("email", "Billing email", "email"),
              FormField("billing_address", "Billing address", "textarea"),
              FormField("currency", "Currency", "select", options=currency_options),
              FormField("payment_terms_days", "Payment terms (days)", "number",
                        help="Used when no payment term is chosen"),
              FormField("payment_term_id", "Payment term", "select", options=term_options,
                        held_label=held_record_label(PaymentTerm, lambda t: t.name)),
              FormField("credit_limit", "Credit limit", "text", help="0 means no credit")),
        search=(model.name, model.tax_id, model.email),
        sortable={"id": model.id, "name": model.name, "currency": model.currency,
                  "payment_terms_days": model.payment_terms_days, "credit_limit": model.credit_limit},
        filters={"currency": model.currency},
        default_sort="name",
        detail_fields=(("name", "Name"), ("tax_id", "Tax id"), ("email", "Billing email"),
                       ("billing_address", "Billing address"), ("currency", "Currency"),
                       ("payment_terms_days", "Payment terms (days)"), ("credit_limit", "Credit limit")),
    )


CUSTOMER = _party_type(Customer, CustomerSchema, "customer", "customers",
                       parties.create_customer, parties.update_customer)
SUPPLIER = _party_type(Supplier, SupplierSchema, "supplier", "suppliers",
                       parties.create_supplier, parties.update_supplier)

ACCOUNT = RecordType(
    plugin="finance", blueprint="erp_finance", name="account", plural="accounts", model=Account,
    schema=LedgerAccountSchema, create=ledger.create_account, update=ledger.update_account,
    columns=(Column("code", "Code", sort="code", link=True), Column("name", "Name", sort="name"),
             Column("type", "Type", sort="type", badge=True), Column("control", "Control"),
             Column("active", "Active")),
    form=(FormField("code", "Code", required=True), FormField("name", "Name", required=True),
          FormField("type", "Type", "select", required=True,
                    options=lambda: [(t, t.capitalize()) for t in ACCOUNT_TYPES]),
          FormField("control", "Control account", "select",
                    options=lambda: [("receivable", "Receivable"), ("payable", "Payable")],
                    help="Only invoices, bills and payments post to control accounts"),
          FormField("active", "Active", "checkbox")),
    search=(Account.code, Account.name), title_attr="label", choice_label=("code", "name"),
    sortable={"id": Account.id, "code": Account.code, "name": Account.name, "type": Account.type},
    filters={"type": Account.type}, default_sort="code",
)

JOURNAL = RecordType(
    plugin="finance", blueprint="erp_finance", name="journal", plural="journals", model=Journal,
    schema=JournalSchema, create=ledger.create_journal, update=ledger.update_journal,
    columns=(Column("code", "Code", sort="code", link=True), Column("name", "Name", sort="name"),
             Column("type", "Type", sort="type", badge=True), Column("refund_code", "Credit note code"),
             Column("entry_count", "Posted entries")),
    form=(FormField("code", "Code", required=True, help="Prefixes entry numbers: INV/2026/00001"),
          FormField("name", "Name", required=True),
          FormField("type", "Type", "select", required=True,
                    options=lambda: [(t, t.capitalize()) for t in JOURNAL_TYPES]),
          FormField("refund_code", "Credit note code", help="Sales and purchase journals: RINV"),
          FormField("default_account_id", "Bank/cash account", "select",
                    options=lambda: account_options(False), held_label=_held_account),
          FormField("active", "Active", "checkbox")),
    search=(Journal.code, Journal.name), title_attr="name",
    sortable={"id": Journal.id, "code": Journal.code, "name": Journal.name, "type": Journal.type},
    filters={"type": Journal.type}, default_sort="code",
)

TAX = RecordType(
    plugin="finance", blueprint="erp_finance", name="tax", plural="taxes", model=Tax,
    schema=TaxSchema, create=ledger.create_tax, update=ledger.update_tax,
    columns=(Column("name", "Name", sort="name", link=True), Column("rate", "Rate (%)", sort="rate"),
             Column("scope", "Used on", badge=True), Column("price_included", "Price included"),
             Column("active", "Active")),
    form=(FormField("name", "Name", required=True), FormField("rate", "Rate (%)", required=True),
          FormField("price_included", "Included in prices", "checkbox"),
          FormField("scope", "Used on", "select", required=True,
                    options=lambda: [("sale", "Sales"), ("purchase", "Purchases")]),
          FormField("account_id", "Tax account", "select", required=True,
                    options=lambda: account_options(False), held_label=_held_account),
          FormField("active", "Active", "checkbox")),
    search=(Tax.name,), sortable={"id": Tax.id, "name": Tax.name, "rate": Tax.rate},
    filters={"scope": Tax.scope}, default_sort="name",
)

PAYMENT_TERM = RecordType(
    plugin="finance", blueprint="erp_finance", name="payment_term", plural="payment-terms",
    model=PaymentTerm, schema=PaymentTermSchema, create=parties.create_payment_term,
    update=parties.update_payment_term,
    columns=(Column("name", "Name", sort="name", link=True), Column("schedule", "Schedule"),
             Column("active", "Active")),
    form=(FormField("name", "Name", required=True),
          FormField("schedule", "Schedule", required=True,
                    help="'100% now', '100% 30d' or '50% now, 50% 30d': shares add up to 100%"),
          FormField("active", "Active", "checkbox")),
    search=(PaymentTerm.name,), sortable={"id": PaymentTerm.id, "name": PaymentTerm.name},
    default_sort="name",
)

FISCAL_YEAR = RecordType(
    plugin="finance", blueprint="erp_finance", name="fiscal_year", plural="fiscal-years",
    model=FiscalYear, schema=FiscalYearSchema, create=ledger.create_fiscal_year,
    update=ledger.update_fiscal_year,
    columns=(Column("name", "Name", sort="name", link=True), Column("date_start", "Starts", sort="date_start"),
             Column("date_end", "Ends"), Column("state", "State", badge=True)),
    form=(FormField("name", "Name", required=True, help="Appears in entry numbers: 2026"),
          FormField("date_start", "Starts", "date", required=True),
          FormField("date_end", "Ends", "date", required=True),
          FormField("state", "State", "select", required=True,
                    options=lambda: [("open", "Open"), ("closed", "Closed")])),
    search=(FiscalYear.name,), sortable={"id": FiscalYear.id, "name": FiscalYear.name,
                                         "date_start": FiscalYear.date_start},
    default_sort="-date_start",
)

EXCHANGE_RATE = RecordType(
    plugin="finance", blueprint="erp_finance", name="exchange_rate", plural="exchange-rates",
    model=ExchangeRate, schema=ExchangeRateSchema, create=ledger.create_exchange_rate,
    update=ledger.update_exchange_rate,
    columns=(Column("currency", "Currency", sort="currency", link=True),
             Column("date", "From", sort="date"), Column("rate", "Rate", sort="rate")),
    form=(FormField("currency", "Currency", "select", required=True, options=currency_options),
          FormField("date", "From", "date", required=True),
          FormField("rate", "Rate", required=True,
                    help="Value of one unit of the currency in the company currency")),
    search=(ExchangeRate.currency,), title_attr="currency",
    sortable={"id": ExchangeRate.id, "currency": ExchangeRate.currency, "date": ExchangeRate.date,
              "rate": ExchangeRate.rate},
    filters={"currency": ExchangeRate.currency}, default_sort="-date",
)

RECORD_TYPES = (CUSTOMER, SUPPLIER, ACCOUNT, JOURNAL, TAX, PAYMENT_TERM, FISCAL_YEAR, EXCHANGE_RATE)
