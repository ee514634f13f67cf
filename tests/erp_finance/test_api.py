"""The JSON API: flows, validation (422), rule refusals (409), missing (404), permissions (403)."""
import pytest

from tests.conftest import ApiClient, create_user, token_for


@pytest.fixture
def acme(fapi):
    response = fapi.post("/api/v1/finance/customers", json={"name": "Acme", "currency": "EUR",
                                                            "payment_terms_days": 30, "credit_limit": "1000.00"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def invoice_json(customer_id, price="100.00", **extra):
    return {"customer_id": customer_id, "date": "2026-03-10",
            "lines": [{"description": "Work", "quantity": "2", "unit_price": price}], **extra}


def test_invoice_payment_credit_note_flow(fapi, acme):
    created = fapi.post("/api/v1/finance/invoices", json=invoice_json(acme["id"]))
    assert created.status_code == 201 and created.get_json()["state"] == "draft"
    inv = created.get_json()
    assert inv["amount_total"] == "200.00" and inv["number"] is None
    posted = fapi.post(f"/api/v1/finance/invoices/{inv['id']}/post").get_json()
    assert posted["number"] == "INV/2026/00001" and posted["due_date"] == "2026-04-09"
    assert posted["installments"] == [{"due_date": "2026-04-09", "amount": "200.00"}]
    entry = fapi.get(f"/api/v1/finance/entries/{posted['entry_id']}").get_json()
    assert entry["state"] == "posted" and len(entry["hash"]) == 64
    payment = fapi.post("/api/v1/finance/payments", json={
        "customer_id": acme["id"], "amount": "250.00", "date": "2026-03-20",
        "allocations": [{"invoice_id": inv["id"], "amount": "150.00"}]})
    assert payment.status_code == 201, payment.get_json()
    assert payment.get_json()["amount_unallocated"] == "100.00"
    assert fapi.get(f"/api/v1/finance/invoices/{inv['id']}").get_json()["state"] == "partially_paid"
    applied = fapi.post(f"/api/v1/finance/payments/{payment.get_json()['id']}/allocate",
                        json={"invoice_id": inv["id"]})
    assert applied.status_code == 201 and applied.get_json()["amount"] == "50.00"
    status = fapi.get(f"/api/v1/finance/customers/{acme['id']}/status").get_json()
    assert status["balance"] == "-50.00" and status["available_credit"] == "1050.00"
    note = fapi.post(f"/api/v1/finance/invoices/{inv['id']}/credit-notes", json={"reason": "refund"})
    assert note.status_code == 201 and note.get_json()["kind"] == "out_refund"
    listed = fapi.get("/api/v1/finance/invoices?kind=out_refund").get_json()
    assert listed["total"] == 1
    assert fapi.get("/api/v1/finance/bills").get_json()["total"] == 0


def test_bad_input_is_a_422_with_field_errors(fapi, acme):
    response = fapi.post("/api/v1/finance/invoices", json=invoice_json(acme["id"], price="1.00005"))
    assert response.status_code == 422 and "lines" in response.get_json()["errors"]
    response = fapi.post("/api/v1/finance/invoices", json=invoice_json(acme["id"], price=12.5))
    assert response.status_code == 422
    response = fapi.post("/api/v1/finance/invoices", json={"customer_id": 999, "lines": []})
    assert response.status_code == 422 and "customer_id" in response.get_json()["errors"]
    response = fapi.post("/api/v1/finance/payments", json={"amount": "10.00"})
    assert response.status_code == 422
    response = fapi.post("/api/v1/finance/payment-terms", json={"name": "Odd", "schedule": "60% now, 60% 30d"})
    assert response.status_code == 422 and "schedule" in response.get_json()["errors"]
    response = fapi.get("/api/v1/finance/invoices?colour=blue")
    assert response.status_code == 422


def test_posted_entries_are_immutable_through_the_api(fapi):
    accounts = {a["code"]: a["id"] for a in fapi.get("/api/v1/finance/accounts?per_page=200").get_json()["items"]}
    journals = {j["code"]: j["id"] for j in fapi.get("/api/v1/finance/journals").get_json()["items"]}
    body = {"journal_id": journals["MISC"], "date": "2026-03-10", "ref": "Rent", "lines": [
        {"account_id": accounts["6000"], "debit": "900.00"}, {"account_id": accounts["1000"], "credit": "900.00"}]}
    unbalanced = fapi.post("/api/v1/finance/entries", json={**body, "post": True, "lines": [
        {"account_id": accounts["6000"], "debit": "900.00"}, {"account_id": accounts["1000"], "credit": "899.99"}]})
    assert unbalanced.status_code == 409 and unbalanced.get_json()["code"] == "entry_unbalanced"
    entry = fapi.post("/api/v1/finance/entries", json={**body, "post": True}).get_json()
    assert entry["number"] == "MISC/2026/00001"
    patched = fapi.patch(f"/api/v1/finance/entries/{entry['id']}", json={"ref": "Changed"})
    assert patched.status_code == 409 and patched.get_json()["code"] == "invalid_state"
    assert patched.get_json()["state"] == "posted"
    assert fapi.delete(f"/api/v1/finance/entries/{entry['id']}").status_code == 409
    reversal = fapi.post(f"/api/v1/finance/entries/{entry['id']}/reverse", json={"date": "2026-03-11"})
    assert reversal.status_code == 201 and reversal.get_json()["reversal_of_id"] == entry["id"]
    assert fapi.get("/api/v1/finance/entries/999999").status_code == 404
    locked = fapi.patch("/api/v1/finance/settings", json={"lock_date": "2026-03-31"})
    assert locked.status_code == 200
    late = fapi.post("/api/v1/finance/entries", json={**body, "post": True})
    assert late.status_code == 409 and late.get_json()["code"] == "period_locked"
    draft = fapi.post("/api/v1/finance/entries", json={**body, "date": "2026-04-02"}).get_json()
    assert fapi.delete(f"/api/v1/finance/entries/{draft['id']}").status_code == 204
    assert fapi.get("/api/v1/finance/ledger/verify").get_json()["ok"] is True
    gone = fapi.get(f"/api/v1/admin/audit?table_name=finance_entry&record_id={draft['id']}").get_json()["items"]
    assert [e["action"] for e in gone] == ["delete", "create"]
    assert gone[0]["changes"]["ref"] == ["Rent", None] and gone[0]["changes"]["state"] == ["draft", None]


def test_a_viewer_may_read_but_not_post(fapp, fapi, acme):
    inv = fapi.post("/api/v1/finance/invoices", json=invoice_json(acme["id"])).get_json()
    create_user(fapp, "viewer@example.com", ["Finance viewer"])
    viewer = ApiClient(fapp.test_client(), token_for(fapp, "viewer@example.com"))
    assert viewer.get(f"/api/v1/finance/invoices/{inv['id']}").status_code == 200
    assert viewer.get("/api/v1/finance/reports/trial-balance").status_code == 200
    assert viewer.post(f"/api/v1/finance/invoices/{inv['id']}/post").status_code == 403
    assert viewer.post("/api/v1/finance/invoices", json=invoice_json(acme["id"])).status_code == 403
    create_user(fapp, "clerk@example.com", ["Accountant"])
    clerk = ApiClient(fapp.test_client(), token_for(fapp, "clerk@example.com"))
    assert clerk.post(f"/api/v1/finance/invoices/{inv['id']}/post").status_code == 200


def test_vendor_bills_through_the_api(fapi):
    supplier = fapi.post("/api/v1/finance/suppliers", json={"name": "Paper Co"}).get_json()
    bill = fapi.post("/api/v1/finance/bills", json={"supplier_id": supplier["id"], "date": "2026-03-01",
                                                    "reference": "P-1", "post": True,
                                                    "lines": [{"description": "Paper", "unit_price": "80.00"}]})
    assert bill.status_code == 201 and bill.get_json()["number"] == "BILL/2026/00001"
    paid = fapi.post("/api/v1/finance/payments", json={"supplier_id": supplier["id"], "amount": "80.00",
                                                       "date": "2026-03-05", "auto_allocate": True})
    assert paid.status_code == 201 and paid.get_json()["direction"] == "outbound"
    assert fapi.get(f"/api/v1/finance/bills/{bill.get_json()['id']}").get_json()["state"] == "paid"
    assert fapi.get(f"/api/v1/finance/invoices/{bill.get_json()['id']}").status_code == 404


def test_a_blank_tax_id_is_none_and_only_real_tax_ids_are_unique(fapi):
    for kind in ("customers", "suppliers"):
        first = fapi.post(f"/api/v1/finance/{kind}", json={"name": "Blank One", "tax_id": ""})
        second = fapi.post(f"/api/v1/finance/{kind}", json={"name": "Blank Two", "tax_id": "  "})
        assert (first.status_code, second.status_code) == (201, 201), (first.get_json(), second.get_json())
        assert first.get_json()["tax_id"] is None and second.get_json()["tax_id"] is None
        patched = fapi.patch(f"/api/v1/finance/{kind}/{first.get_json()['id']}", json={"tax_id": ""})
        assert patched.status_code == 200 and patched.get_json()["tax_id"] is None
        fapi.post(f"/api/v1/finance/{kind}", json={"name": "Taxed", "tax_id": "de123"})
        taken = fapi.post(f"/api/v1/finance/{kind}", json={"name": "Taxed Again", "tax_id": " DE123 "})
        assert taken.status_code == 422 and "tax_id" in taken.get_json()["errors"]


def test_an_exchange_rate_corrected_onto_a_taken_day_is_refused(fapi):
    first = fapi.post("/api/v1/finance/exchange-rates", json={"currency": "USD", "date": "2026-03-02", "rate": "0.9"})
    second = fapi.post("/api/v1/finance/exchange-rates", json={"currency": "GBP", "date": "2026-03-02", "rate": "1.2"})
    assert (first.status_code, second.status_code) == (201, 201), (first.get_json(), second.get_json())
    clash = fapi.patch(f"/api/v1/finance/exchange-rates/{second.get_json()['id']}", json={"currency": "USD"})
    assert clash.status_code == 422 and "date" in clash.get_json()["errors"]
    fine = fapi.patch(f"/api/v1/finance/exchange-rates/{second.get_json()['id']}", json={"rate": "1.25"})
    assert fine.status_code == 200 and fine.get_json()["rate"].startswith("1.25")


def test_invoice_state_is_a_slug_old_display_value_still_filters(fapi, acme, fapp):
    """"partially paid" was a display string in the API: now ``partially_paid``, the old
    value still read by the filter, refused by the database, converted by erp_finance_0004."""
    import sqlalchemy as sa
    from alembic import command

    from core import migrate
    from core.db import db, transaction
    from core.registry import current_registry

    inv = fapi.post("/api/v1/finance/invoices", json=invoice_json(acme["id"], post=True)).get_json()
    fapi.post("/api/v1/finance/payments", json={"customer_id": acme["id"], "amount": "50.00", "date": "2026-03-20",
                                                "allocations": [{"invoice_id": inv["id"], "amount": "50.00"}]})
    for state in ("partially_paid", "partially paid", "Partially Paid"):
        found = fapi.get("/api/v1/finance/invoices", query_string={"state": state}).get_json()
        assert [i["id"] for i in found["items"]] == [inv["id"]], state
    assert fapi.get("/api/v1/finance/invoices", query_string={"state": "half paid"}).status_code == 422
    doc = fapp.test_client().get("/api/openapi.json").get_json()
    assert "partially_paid" in doc["components"]["schemas"]["Invoice"]["properties"]["state"]["enum"]
    with fapp.app_context(), transaction():
        conn = db.session.connection()
        cfg = migrate._config(current_registry(), conn)
        command.downgrade(cfg, "erp_finance_0003")
        assert conn.execute(sa.text("SELECT state FROM finance_invoice")).scalar() == "partially paid"
        command.upgrade(cfg, "erp_finance@head")
        assert conn.execute(sa.text("SELECT state FROM finance_invoice")).scalar() == "partially_paid"
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.execute(sa.text("UPDATE finance_invoice SET state = 'partially paid'"))
