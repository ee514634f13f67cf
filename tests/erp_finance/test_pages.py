"""The web UI: forms with errors next to fields, actions as buttons, printable invoice."""
import re

import sqlalchemy as sa

from core.db import db
from plugins.erp_finance.models import Account, Customer, Invoice, JournalEntry, Payment
from tests.conftest import csrf_from


def ids(fapp, model, **where):
    with fapp.app_context():
        stmt = sa.select(model.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return list(db.session.scalars(stmt))


def post_form(client, url, data):
    token = csrf_from(client.get(url))
    return client.post(url, data={"csrf_token": token, **data})


def test_invoice_from_form_to_print(fapp, fadmin):
    created = post_form(fadmin, "/finance/customers/new", {"name": "Form Ltd", "currency": "EUR",
                                                            "payment_terms_days": "15", "credit_limit": "500"})
    assert created.status_code == 302
    [customer_id] = ids(fapp, Customer, name="Form Ltd")
    bad = post_form(fadmin, "/finance/invoices/new", {
        "customer_id": str(customer_id), "date": "2026-03-10", "lines-0-description": "Desk",
        "lines-0-quantity": "1", "lines-0-unit_price": "-5"})
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    saved = post_form(fadmin, "/finance/invoices/new", {
        "customer_id": str(customer_id), "date": "2026-03-10", "reference": "PO-9",
        "lines-0-description": "Desk", "lines-0-quantity": "2", "lines-0-unit_price": "150.00",
        "lines-1-description": "", "lines-1-unit_price": "", "action": "post"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    [invoice_id] = ids(fapp, Invoice)
    detail = fadmin.get(saved.headers["Location"])
    html = detail.get_data(as_text=True)
    assert "INV/2026/00001" in html and "posted" in html and "Register payment" in html
    printed = fadmin.get(f"/finance/invoices/{invoice_id}/print").get_data(as_text=True)
    assert "Form Ltd" in printed and "300.00" in printed and "INV/2026/00001" in printed
    edit = fadmin.get(f"/finance/invoices/{invoice_id}/edit", follow_redirects=True)
    assert "cannot be changed" in edit.get_data(as_text=True)
    pay = post_form(fadmin, f"/finance/payments/new?invoice_id={invoice_id}", {
        "customer_id": str(customer_id), "amount": "300.00", "date": "2026-03-20",
        "alloc-0-invoice_id": str(invoice_id), "alloc-0-amount": "300.00"})
    assert pay.status_code == 302, pay.get_data(as_text=True)[:2000]
    assert "paid" in fadmin.get(f"/finance/invoices/{invoice_id}").get_data(as_text=True)
    [payment_id] = ids(fapp, Payment)
    cancel = post_form(fadmin, f"/finance/payments/{payment_id}", {})  # GET page has the token
    assert cancel.status_code == 405
    token = csrf_from(fadmin.get(f"/finance/payments/{payment_id}"))
    done = fadmin.post(f"/finance/payments/{payment_id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "cancelled" in done.get_data(as_text=True)
    customer_page = fadmin.get(f"/finance/customers/{customer_id}").get_data(as_text=True)
    assert "Credit status" in customer_page and "INV/2026/00001" in customer_page


def test_credit_note_from_the_invoice_page(fapp, fadmin):
    post_form(fadmin, "/finance/customers/new", {"name": "Credit Ltd", "currency": "EUR", "payment_terms_days": "30",
                                                 "credit_limit": "0"})
    [customer_id] = ids(fapp, Customer)
    post_form(fadmin, "/finance/invoices/new", {
        "customer_id": str(customer_id), "date": "2026-03-10", "lines-0-description": "Lamp",
        "lines-0-quantity": "1", "lines-0-unit_price": "40.00", "action": "post"})
    [invoice_id] = ids(fapp, Invoice)
    note = post_form(fadmin, f"/finance/invoices/{invoice_id}/credit-note", {"mode": "full", "reason": "broken"})
    assert note.status_code == 302, note.get_data(as_text=True)[:1500]
    assert "RINV/2026/00001" in fadmin.get(note.headers["Location"]).get_data(as_text=True)


def test_entry_form_shows_why_it_cannot_post(fapp, fadmin):
    with fapp.app_context():
        accounts = {a.code: a.id for a in db.session.scalars(sa.select(Account))}
    data = {"journal_id": "", "date": "2026-03-10", "ref": "Rent",
            "lines-0-account_id": str(accounts["6000"]), "lines-0-debit": "100.00",
            "lines-1-account_id": str(accounts["1000"]), "lines-1-credit": "90.00", "action": "post"}
    missing = post_form(fadmin, "/finance/entries/new", data)
    assert missing.status_code == 422 and "journal_id" in missing.get_data(as_text=True)
    with fapp.app_context():
        from plugins.erp_finance.services import get_settings
        misc = get_settings().misc_journal_id
    unbalanced = post_form(fadmin, "/finance/entries/new", {**data, "journal_id": str(misc)})
    assert unbalanced.status_code == 422 and "does not balance" in unbalanced.get_data(as_text=True)
    assert ids(fapp, JournalEntry) == []  # nothing half-written
    ok = post_form(fadmin, "/finance/entries/new", {**data, "journal_id": str(misc), "lines-1-credit": "100.00"})
    assert ok.status_code == 302
    [entry_id] = ids(fapp, JournalEntry)
    token = csrf_from(fadmin.get(f"/finance/entries/{entry_id}"))
    refused = fadmin.post(f"/finance/entries/{entry_id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "cannot be deleted (reverse it instead)" in refused.get_data(as_text=True)
    reversed_ = fadmin.post(f"/finance/entries/{entry_id}/reverse", data={"csrf_token": token, "date": "2026-03-12"},
                            follow_redirects=True)
    assert "Reversed by MISC/2026/00002" in reversed_.get_data(as_text=True)


def test_settings_lock_date_and_dashboard(fapp, fadmin):
    saved = post_form(fadmin, "/finance/settings", {"company_name": "Tandem Demo", "currency": "EUR",
                                                    "lock_date": "2026-01-31"})
    assert saved.status_code == 302
    assert "2026-01-31" in fadmin.get("/finance/setup").get_data(as_text=True)
    bad = post_form(fadmin, "/finance/settings", {"company_name": "", "currency": "XXX"})
    assert bad.status_code == 422
    home = fadmin.get("/").get_data(as_text=True)
    assert "Receivables aging" in home
    for label in ("Invoices", "Vendor bills", "Payments", "Journal entries", "Financial reports"):
        assert re.search(rf">\s*{label}\s*<", home), label


def test_lists_filter_and_global_search_finds_documents(fapp, fadmin, fapi):
    customer = fapi.post("/api/v1/finance/customers", json={"name": "Searchable Ltd"}).get_json()
    supplier = fapi.post("/api/v1/finance/suppliers", json={"name": "Billing Supplies"}).get_json()
    fapi.post("/api/v1/finance/invoices", json={"customer_id": customer["id"], "date": "2026-01-05", "post": True,
                                                "lines": [{"description": "x", "unit_price": "10.00"}]})
    fapi.post("/api/v1/finance/bills", json={"supplier_id": supplier["id"], "date": "2026-01-05", "post": True,
                                             "reference": "SUP-42", "lines": [{"description": "y", "unit_price": "5.00"}]})
    assert fapi.get("/api/v1/finance/invoices?q=searchable").get_json()["total"] == 1
    assert fapi.get("/api/v1/finance/invoices?q=billing").get_json()["total"] == 0
    assert fapi.get("/api/v1/finance/invoices?overdue=true").get_json()["total"] == 1
    assert fapi.get("/api/v1/finance/invoices?sort=colour").status_code == 422
    page = fadmin.get("/finance/invoices?q=Searchable&state=posted").get_data(as_text=True)
    assert "INV/2026/00001" in page
    assert "cannot sort by" in fadmin.get("/finance/invoices?sort=colour").get_data(as_text=True)
    found = fadmin.get("/search?q=SUP-42").get_data(as_text=True)
    assert 'href="/finance/bills/' in found
    assert 'href="/finance/invoices/' in fadmin.get("/search?q=INV/2026").get_data(as_text=True)
    assert 'href="/finance/suppliers/' in fadmin.get("/search?q=Billing").get_data(as_text=True)


def test_party_selects_keep_a_party_past_the_first_and_find_it_by_typing(fapp, fadmin):
    """Forms list the first customers and suppliers by name; the one a form holds is always
    among its options (so a re-shown form cannot lose it) and typing finds any other."""
    from core.records import CHOICES_SHOWN
    from core.db import transaction
    from plugins.erp_finance.models import Supplier

    with fapp.app_context(), transaction():
        db.session.execute(sa.insert(Customer), [{"name": f"Able customer {i:03}"} for i in range(520)])
        db.session.execute(sa.insert(Supplier), [{"name": f"Able supplier {i:03}"} for i in range(520)])
        zulu = Customer(name="Zulu Traders")
        zed = Supplier(name="Zed Parts")
        db.session.add_all([zulu, zed])
        db.session.flush()
        zulu_id, zed_id = zulu.id, zed.id
        accounts = {a.code: a.id for a in db.session.scalars(sa.select(Account))}

    def options(html, select_id):
        select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
        return re.findall(r'<option value="([^"]*)"( selected)?>', select)

    payment = post_form(fadmin, "/finance/payments/new", {"customer_id": str(zulu_id), "amount": "oops"})
    html = payment.get_data(as_text=True)
    assert payment.status_code == 422
    assert (str(zulu_id), " selected") in options(html, "f-customer_id")
    assert len(options(html, "f-customer_id")) == 1 + CHOICES_SHOWN + 1
    assert 'data-choices="/finance/customers/choices"' in html

    entry = post_form(fadmin, "/finance/entries/new", {
        "journal_id": "", "date": "2026-03-10", "lines-0-account_id": str(accounts["6000"]),
        "lines-0-debit": "100.00", "lines-0-supplier_id": str(zed_id),
        "lines-1-account_id": str(accounts["1000"]), "lines-1-credit": "100.00", "action": "post"})
    html = entry.get_data(as_text=True)
    assert entry.status_code == 422
    assert (str(zed_id), " selected") in options(html, "lines-0-supplier_id")
    assert (str(zed_id), "") in options(html, "lines-1-supplier_id")  # listed, not chosen, on the other lines

    invoice = fadmin.get(f"/finance/invoices/new?customer_id={zulu_id}").get_data(as_text=True)
    assert (str(zulu_id), " selected") in options(invoice, "f-customer_id")

    found = fadmin.get("/finance/suppliers/choices?q=zed").get_json()["choices"]
    assert found == [{"value": str(zed_id), "label": "Zed Parts"}]


def test_a_payment_term_retired_since_stays_on_the_records_that_hold_it(fapp, fapi, fadmin):
    from plugins.erp_finance.models import PaymentTerm

    from core.db import transaction

    term = fapi.post("/api/v1/finance/payment-terms", json={"name": "Net 45 (old)", "schedule": "100% 45d"})
    assert term.status_code == 201, term.get_json()
    term_id = term.get_json()["id"]
    customer = fapi.post("/api/v1/finance/customers", json={"name": "Held Terms Ltd", "payment_term_id": term_id})
    assert customer.status_code == 201, customer.get_json()
    customer = customer.get_json()
    invoice = fapi.post("/api/v1/finance/invoices", json={
        "customer_id": customer["id"], "date": "2026-03-10", "payment_term_id": term_id,
        "lines": [{"description": "Desk", "quantity": "1", "unit_price": "10.00"}]}).get_json()
    with fapp.app_context(), transaction():
        db.session.get(PaymentTerm, term_id).active = False

    edit = fadmin.get(f"/finance/customers/{customer['id']}/edit").get_data(as_text=True)
    assert f'<option value="{term_id}" selected>Net 45 (old) (inactive)</option>' in edit
    assert post_form(fadmin, f"/finance/customers/{customer['id']}/edit", {
        "name": "Held Terms Ltd", "currency": "EUR", "payment_term_id": str(term_id),
        "payment_terms_days": "30", "credit_limit": "0"}).status_code == 302
    assert fapi.get(f"/api/v1/finance/customers/{customer['id']}").get_json()["payment_term_id"] == term_id
    # a hand-written form (the invoice's) keeps it too
    invoice_form = fadmin.get(f"/finance/invoices/{invoice['id']}/edit").get_data(as_text=True)
    assert f'<option value="{term_id}" selected>' in invoice_form
