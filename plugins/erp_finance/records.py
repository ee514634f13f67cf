"""How finance records are listed, searched, filtered and edited (see ``core.records``)."""
from core.records import Column, FormField, RecordType
from plugins.erp_finance import services
from plugins.erp_finance.models import Customer
from plugins.erp_finance.schemas import CURRENCIES, CustomerSchema

CUSTOMER = RecordType(
    plugin="finance", blueprint="erp_finance", name="customer", plural="customers", model=Customer,
    schema=CustomerSchema, create=services.create_customer, update=services.update_customer,
    columns=(Column("name", "Name", sort="name", link=True), Column("tax_id", "Tax id"),
             Column("currency", "Currency", sort="currency"),
             Column("payment_terms_days", "Terms (days)", sort="payment_terms_days"),
             Column("credit_limit", "Credit limit", sort="credit_limit")),
    form=(FormField("name", "Name", required=True), FormField("tax_id", "Tax id"),
          FormField("email", "Billing email", "email"),
          FormField("billing_address", "Billing address", "textarea"),
          FormField("currency", "Currency", "select", options=lambda: [(c, c) for c in CURRENCIES]),
          FormField("payment_terms_days", "Payment terms (days)", "number"),
          FormField("credit_limit", "Credit limit", "text", help="0 means no credit")),
    search=(Customer.name, Customer.tax_id, Customer.email),
    sortable={"id": Customer.id, "name": Customer.name, "currency": Customer.currency,
              "payment_terms_days": Customer.payment_terms_days,
              "credit_limit": Customer.credit_limit},
    filters={"currency": Customer.currency},
    default_sort="name",
    detail_fields=(("name", "Name"), ("tax_id", "Tax id"), ("email", "Billing email"),
                   ("billing_address", "Billing address"), ("currency", "Currency"),
                   ("payment_terms_days", "Payment terms (days)"), ("credit_limit", "Credit limit")),
)
