"""A case resolved with a structured credit: the credit note it agreed, posted with the
resolution in one transaction, its lines carrying the tax of what they credit."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.bridge.conftest import ok
from tests.conftest import ApiClient, create_user, csrf_from, login, token_for

KIT = {"description": "Kit", "quantity": "2", "unit_price": "100.00", "tax_rate": "20"}
SERVICE = {"description": "Service", "quantity": "1", "unit_price": "50.00", "tax_rate": "10"}


@pytest.fixture
def sold(api, flow):
    """A won deal's posted invoice: 2 x 100.00 at 20 % and 1 x 50.00 at 10 % (295.00), and
    an open case of its account."""
    deal_id, account_id = flow.deal(company="Vat Tools Ltd", email="jo@vattools.example", lines=[KIT, SERVICE])
    ok(flow.win(deal_id))
    invoice_id = ok(api.get(f"/api/v1/bridge/deals/{deal_id}/status"))["invoices"][0]["invoice_id"]
    invoice = ok(api.get(f"/api/v1/finance/invoices/{invoice_id}"))
    assert (invoice["amount_untaxed"], invoice["amount_tax"], invoice["amount_total"]) == ("250.00", "45.00", "295.00")
    return {"account_id": account_id, "invoice": invoice, "case": new_case(api, account_id),
            "lines": {line["description"]: line for line in invoice["lines"]}}


def new_case(api, account_id, subject="Two units arrived damaged"):
    return ok(api.post("/api/v1/crm/cases", json={"subject": subject, "account_id": account_id}))["id"]


def resolve(api, case_id, credit=None, resolution="Agreed a refund with the customer."):
    body = {"resolution": resolution, **({"credit": credit} if credit else {})}
    return api.post(f"/api/v1/bridge/cases/{case_id}/resolve", json=body)


def credit_notes(api, invoice_id):
    found = ok(api.get("/api/v1/finance/invoices", query_string={"kind": "out_refund", "per_page": 200}))["items"]
    return [ok(api.get(f"/api/v1/finance/invoices/{n['id']}")) for n in found if n["origin_id"] == invoice_id]


def balance(api, account_id):
    return ok(api.get(f"/api/v1/bridge/accounts/{account_id}/status"))["financial"]["balance"]


def case_status(api, case_id):
    return ok(api.get(f"/api/v1/crm/cases/{case_id}"))["status"]


def test_words_alone_resolve_the_case_and_credit_nothing(api, sold):
    number, invoice_id = sold["invoice"]["number"], sold["invoice"]["id"]
    for resolution in (f"Agreed a refund of 20.00 against {number}", f"credit 20.00 on {number}"):
        case_id = new_case(api, sold["account_id"])
        done = ok(api.post(f"/api/v1/crm/cases/{case_id}/resolve", json={"resolution": resolution}))
        assert done["status"] == "resolved" and done["resolution"] == resolution
    assert credit_notes(api, invoice_id) == [] and balance(api, sold["account_id"]) == "295.00"


def test_an_amount_is_spread_over_the_tax_rates_and_the_output_tax_reversed(api, sold):
    invoice = sold["invoice"]
    done = ok(resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "amount", "amount": "59.00",
                                          "reason": "Damaged in transit"}))
    assert done["status"] == "resolved" and done["credit_note"]["amount"] == "59.00"
    [note] = credit_notes(api, invoice["id"])
    assert (note["amount_untaxed"], note["amount_tax"], note["amount_total"]) == ("50.00", "9.00", "59.00")
    assert note["notes"] == "Damaged in transit" and note["number"] == done["credit_note"]["number"]
    taxes = {line["tax_id"]: (line["amount_untaxed"], line["amount_tax"]) for line in note["lines"]}
    assert taxes == {sold["lines"]["Kit"]["tax_id"]: ("40.00", "8.00"),
                     sold["lines"]["Service"]["tax_id"]: ("10.00", "1.00")}
    entry = ok(api.get(f"/api/v1/finance/entries/{note['entry_id']}"))
    vat = [line for line in entry["lines"] if line["account_code"] == "2100"]
    assert sum(float(line["debit"]) for line in vat) == 9.0 and all(line["credit"] == "0.00" for line in vat)
    assert balance(api, sold["account_id"]) == "236.00"
    # the same resolution again: one credit note
    again = ok(resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "amount", "amount": "59.00",
                                           "reason": "Damaged in transit"}))
    assert again["credit_note"] == done["credit_note"] and len(credit_notes(api, invoice["id"])) == 1


def test_an_amount_the_tax_rounding_cannot_reach_is_credited_a_cent_under_never_over(api, sold):
    invoice = sold["invoice"]
    # 0.03 on 20 % and 10 %: no line total of a one-unit line at 20 % is 0.03 (0.02 then 0.04)
    done = ok(resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "amount", "amount": "0.03",
                                          "reason": "Goodwill"}))
    assert done["credit_note"]["amount"] in ("0.03", "0.02")


def test_chosen_lines_and_quantities(api, sold):
    invoice, kit = sold["invoice"], sold["lines"]["Kit"]
    refused = resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "lines", "reason": "Broken",
                                          "lines": [{"line_id": kit["id"], "quantity": "3"}]})
    assert refused.status_code == 422
    assert "At most 2" in refused.get_json()["errors"]["credit"]["lines"]["0"]["quantity"][0]
    stranger = resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "lines", "reason": "Broken",
                                           "lines": [{"line_id": 999999, "quantity": "1"}]})
    assert stranger.status_code == 422 and "line_id" in stranger.get_json()["errors"]["credit"]["lines"]["0"]
    assert case_status(api, sold["case"]) == "open"
    done = ok(resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "lines", "reason": "Broken",
                                          "lines": [{"line_id": kit["id"], "quantity": "1"}]}))
    [note] = credit_notes(api, invoice["id"])
    assert done["credit_note"]["amount"] == "120.00"
    assert [(l["description"], l["quantity"], l["tax_id"], l["amount_tax"]) for l in note["lines"]] == \
        [("Kit", "1.000", kit["tax_id"], "20.00")]


def test_no_more_than_is_left_to_credit(api, sold):
    invoice = sold["invoice"]
    too_much = resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "amount", "amount": "295.01",
                                           "reason": "Everything"})
    assert too_much.status_code == 422 and "left to credit" in too_much.get_json()["errors"]["credit"]["amount"][0]
    ok(resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "amount", "amount": "95.00",
                                   "reason": "Part"}))
    # 200.00 left: the whole invoice no longer fits, 200.01 neither, 200.00 does
    second = new_case(api, sold["account_id"])
    whole = resolve(api, second, {"invoice_id": invoice["id"], "mode": "whole", "reason": "All of it"})
    assert whole.status_code == 422 and "200.00" in whole.get_json()["errors"]["credit"]["mode"][0]
    over = resolve(api, second, {"invoice_id": invoice["id"], "mode": "amount", "amount": "200.01", "reason": "Rest"})
    assert over.status_code == 422 and set(over.get_json()["errors"]["credit"]) == {"amount"}
    assert case_status(api, second) == "open" and len(credit_notes(api, invoice["id"])) == 1
    assert ok(resolve(api, second, {"invoice_id": invoice["id"], "mode": "amount", "amount": "200.00",
                                    "reason": "Rest"}))["credit_note"]["amount"] == "200.00"
    assert balance(api, sold["account_id"]) == "0.00"


def test_the_whole_invoice(api, sold):
    invoice = sold["invoice"]
    done = ok(resolve(api, sold["case"], {"invoice_id": invoice["id"], "mode": "whole", "reason": "Returned"}))
    [note] = credit_notes(api, invoice["id"])
    assert done["credit_note"]["amount"] == "295.00" and note["amount_tax"] == "45.00"
    assert balance(api, sold["account_id"]) == "0.00"


def test_only_a_posted_invoice_of_the_case_account(api, flow, sold):
    other_deal, _ = flow.deal(company="Other Buyer Ltd", email="al@otherbuyer.example", lines=[SERVICE])
    ok(flow.win(other_deal))
    foreign = ok(api.get(f"/api/v1/bridge/deals/{other_deal}/status"))["invoices"][0]["invoice_id"]
    refused = resolve(api, sold["case"], {"invoice_id": foreign, "mode": "whole", "reason": "Wrong one"})
    assert refused.status_code == 422
    assert "is not an invoice of Vat Tools Ltd" in refused.get_json()["errors"]["credit"]["invoice_id"][0]
    draft = ok(api.post("/api/v1/finance/invoices", json={
        "customer_id": sold["invoice"]["customer_id"], "lines": [{"description": "Extra", "unit_price": "10.00"}]}))
    unposted = resolve(api, sold["case"], {"invoice_id": draft["id"], "mode": "whole", "reason": "Draft"})
    assert unposted.status_code == 422 and "not posted" in unposted.get_json()["errors"]["credit"]["invoice_id"][0]
    missing = resolve(api, sold["case"], {"invoice_id": 999999, "mode": "whole", "reason": "None"})
    assert missing.status_code == 422 and "invoice_id" in missing.get_json()["errors"]["credit"]
    assert case_status(api, sold["case"]) == "open" and credit_notes(api, foreign) == []


def test_the_credit_is_structured_and_complete(api, sold):
    invoice_id = sold["invoice"]["id"]
    for credit, field in (({"invoice_id": invoice_id, "mode": "amount", "reason": "x"}, "amount"),
                          ({"invoice_id": invoice_id, "mode": "whole", "amount": "5.00", "reason": "x"}, "amount"),
                          ({"invoice_id": invoice_id, "mode": "lines", "reason": "x"}, "lines"),
                          ({"invoice_id": invoice_id, "mode": "whole"}, "reason"),
                          ({"invoice_id": invoice_id, "mode": "whole", "reason": "  "}, "reason"),
                          ({"invoice_id": invoice_id, "mode": "amount", "amount": "5.001", "reason": "x"}, "amount"),
                          ({"invoice_id": invoice_id, "mode": "amount", "amount": "0.00", "reason": "x"}, "amount"),
                          ({"invoice_id": invoice_id, "mode": "everything", "reason": "x"}, "mode"),
                          ({"mode": "whole", "reason": "x"}, "invoice_id")):
        refused = resolve(api, sold["case"], credit)
        assert refused.status_code == 422 and field in refused.get_json()["errors"]["credit"], (credit, refused.get_json())
    posted_to_crm = api.post(f"/api/v1/crm/cases/{sold['case']}/resolve", json={
        "resolution": "Refund", "credit": {"invoice_id": invoice_id, "mode": "whole", "reason": "x"}})
    assert posted_to_crm.status_code == 422 and "credit" in posted_to_crm.get_json()["errors"]
    assert case_status(api, sold["case"]) == "open" and credit_notes(api, invoice_id) == []


def test_nothing_is_written_when_the_credit_note_cannot_be_posted(api, sold):
    ok(api.patch("/api/v1/finance/settings", json={"lock_date": dt.date.today().isoformat()}))
    refused = resolve(api, sold["case"], {"invoice_id": sold["invoice"]["id"], "mode": "whole", "reason": "Late"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "period_locked"
    assert case_status(api, sold["case"]) == "open" and credit_notes(api, sold["invoice"]["id"]) == []
    assert ok(api.get(f"/api/v1/crm/cases/{sold['case']}"))["resolution"] is None


def test_a_case_resolved_without_a_credit_is_not_credited_later(api, sold):
    ok(resolve(api, sold["case"]))  # no credit: just a resolution
    late = resolve(api, sold["case"], {"invoice_id": sold["invoice"]["id"], "mode": "whole", "reason": "Late"})
    assert late.status_code == 409 and late.get_json()["code"] == "invalid_state"
    assert credit_notes(api, sold["invoice"]["id"]) == []


def test_crediting_takes_its_permission(app, api, sold):
    create_user(app, "rep.credit@example.com", ["Sales rep"])
    rep = ApiClient(app.test_client(), token_for(app, "rep.credit@example.com"))
    rep_id = ok(rep.get("/api/v1/auth/me"))["id"]
    ok(api.patch(f"/api/v1/crm/accounts/{sold['account_id']}", json={"owner_id": rep_id}))
    case_id = ok(rep.post("/api/v1/crm/cases", json={"subject": "Scratched", "account_id": sold["account_id"]}))["id"]
    credit = {"invoice_id": sold["invoice"]["id"], "mode": "whole", "reason": "Returned"}
    assert resolve(rep, case_id, credit).status_code == 403
    assert rep.get(f"/api/v1/bridge/cases/{case_id}/invoices").status_code == 403
    assert case_status(api, case_id) == "open"
    assert ok(resolve(rep, case_id))["credit_note"] is None  # a plain resolution is theirs to give
    assert resolve(rep, sold["case"]).status_code == 404  # someone else's case


def test_the_invoices_a_case_may_credit(api, sold):
    [found] = ok(api.get(f"/api/v1/bridge/cases/{sold['case']}/invoices"))
    assert (found["invoice_id"], found["credit_left"]) == (sold["invoice"]["id"], "295.00")
    assert {(l["line_id"], l["description"], l["quantity"]) for l in found["lines"]} == \
        {(l["id"], l["description"], l["quantity"]) for l in sold["invoice"]["lines"]}
    ok(resolve(api, sold["case"], {"invoice_id": found["invoice_id"], "mode": "whole", "reason": "Returned"}))
    assert ok(api.get(f"/api/v1/bridge/cases/{new_case(api, sold['account_id'])}/invoices")) == []


def test_the_credit_in_the_openapi_document(api):
    spec = ok(api.get("/api/openapi.json"))
    operation = spec["paths"]["/api/v1/bridge/cases/{case_id}/resolve"]["post"]
    assert operation["x-permission"] == "crm.case.write"
    credit = spec["components"]["schemas"]["CaseCredit"]["properties"]
    assert {"invoice_id", "mode", "lines", "amount", "reason"} <= set(credit)
    assert "/api/v1/bridge/cases/{case_id}/invoices" in spec["paths"]


def test_the_resolve_form_offers_the_accounts_invoices(app, api, sold):
    page = login(app.test_client())
    detail = page.get(f"/crm/cases/{sold['case']}").get_data(as_text=True)
    assert 'name="credit_invoice_id"' in detail and sold["invoice"]["number"] in detail
    assert f'name="credit_line_{sold["lines"]["Kit"]["id"]}"' in detail
    token = csrf_from(page.get(f"/crm/cases/{sold['case']}"))
    form = {"csrf_token": token, "resolution": "Refund agreed", "credit_mode": "amount",
            "credit_invoice_id": sold["invoice"]["id"], "credit_amount": "400.00", "credit_reason": "Broken"}
    refused = page.post(f"/bridge/cases/{sold['case']}/resolve", data=form, follow_redirects=True)
    assert "Not done: Amount: 400.00 EUR is more than" in refused.get_data(as_text=True)
    assert case_status(api, sold["case"]) == "open"
    lines = {**form, "credit_mode": "lines", f"credit_line_{sold['lines']['Service']['id']}": "1"}
    done = page.post(f"/bridge/cases/{sold['case']}/resolve", data=lines, follow_redirects=True)
    assert "resolved with credit note" in done.get_data(as_text=True)
    [note] = credit_notes(api, sold["invoice"]["id"])
    assert note["amount_total"] == "55.00" and note["amount_tax"] == "5.00"
    assert "Credit note" in page.get(f"/crm/cases/{sold['case']}").get_data(as_text=True)


def test_without_invoices_to_credit_the_resolve_form_is_crms(app, api, sold):
    case_id = new_case(api, None)
    page = login(app.test_client())
    html = page.get(f"/crm/cases/{case_id}").get_data(as_text=True)
    assert 'name="resolution"' in html and "credit_invoice_id" not in html
    token = csrf_from(page.get(f"/crm/cases/{case_id}"))
    done = page.post(f"/bridge/cases/{case_id}/resolve", data={"csrf_token": token, "resolution": "Fixed",
                                                                "credit_mode": "none"}, follow_redirects=True)
    assert "resolved." in done.get_data(as_text=True) and case_status(api, case_id) == "resolved"
