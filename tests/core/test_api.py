"""API conventions: error bodies, pagination, sorting, filtering, the OpenAPI document."""


def test_validation_errors_are_422_with_field_messages(api):
    response = api.post("/api/v1/crm/accounts", json={"domain": "not a domain"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"]["name"] == ["Missing data for required field."]
    assert body["errors"]["domain"] == ["Enter a domain like example.com."]


def test_service_validation_is_422_too_and_nothing_is_written(api):
    api.post("/api/v1/inventory/products", json={"sku": "DUP-1", "name": "One"})
    response = api.post("/api/v1/inventory/products", json={"sku": "dup-1", "name": "Two"})
    assert response.status_code == 422
    assert "already used" in response.get_json()["errors"]["sku"][0]
    assert api.get("/api/v1/inventory/products?q=DUP").get_json()["total"] == 1


def test_missing_records_and_routes_are_404_json(api):
    response = api.get("/api/v1/crm/accounts/999999")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert api.get("/api/v1/nothing/here").status_code == 404


def test_malformed_json_is_a_4xx_not_a_500(api):
    response = api.client.post("/api/v1/crm/accounts", data="{not json",
                               headers={"Authorization": f"Bearer {api.token}",
                                        "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500


def test_pagination_sorting_and_filtering(api):
    for i, industry in enumerate(["Retail", "Retail", "Services"]):
        api.post("/api/v1/crm/accounts", json={"name": f"Page {i}", "industry": industry})
    page = api.get("/api/v1/crm/accounts?per_page=2&page=1&sort=-name&q=Page").get_json()
    assert page["total"] == 3 and page["per_page"] == 2
    assert [a["name"] for a in page["items"]] == ["Page 2", "Page 1"]
    second = api.get("/api/v1/crm/accounts?per_page=2&page=2&sort=-name&q=Page").get_json()
    assert [a["name"] for a in second["items"]] == ["Page 0"]
    retail = api.get("/api/v1/crm/accounts?industry=Retail&q=Page").get_json()
    assert retail["total"] == 2
    assert api.get("/api/v1/crm/accounts?per_page=201").status_code == 422
    bad_sort = api.get("/api/v1/crm/accounts?sort=password")
    assert bad_sort.status_code == 422 and "cannot sort by password" in bad_sort.get_json()["errors"]["sort"][0]
    assert api.get("/api/v1/crm/accounts?colour=red").status_code == 422


def test_money_is_decimal_strings(api):
    created = api.post("/api/v1/finance/customers", json={"name": "Decimal Ltd", "credit_limit": "1234.50"})
    assert created.status_code == 201 and created.get_json()["credit_limit"] == "1234.50"
    assert api.post("/api/v1/finance/customers",
                    json={"name": "Neg", "credit_limit": "-1"}).status_code == 422


def test_openapi_document_covers_installed_plugins_with_permissions(app, api):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    operation = spec["paths"]["/api/v1/crm/accounts"]["post"]
    assert operation["x-permission"] == "crm.account.write"
    assert operation["security"] == [{"bearerAuth": []}]
    assert "/api/v1/finance/customers" in spec["paths"]
    api.post("/api/v1/admin/modules/bridge/uninstall", json={})
    api.post("/api/v1/admin/modules/erp_finance/uninstall", json={})
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert "/api/v1/finance/customers" not in spec["paths"]
    assert "/api/v1/crm/accounts" in spec["paths"]


def test_api_docs_work_offline(app):
    client = app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_security_headers(app):
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_global_search_finds_records_of_installed_plugins_the_user_may_read(app, api):
    from tests.conftest import create_user, login

    create_user(app, "searcher@example.com", ["Sales rep"])
    rep_id = api.get("/api/v1/auth/users?q=searcher").get_json()["items"][0]["id"]
    api.post("/api/v1/crm/accounts", json={"name": "Zebulon Works", "domain": "zebulon.example",
                                           "owner_id": rep_id})  # a rep sees the accounts they own
    api.post("/api/v1/finance/customers", json={"name": "Zebulon Works", "tax_id": "ZB1"})
    api.post("/api/v1/inventory/products", json={"sku": "ZEB-1", "name": "Zebulon widget"})
    page = login(app.test_client()).get("/search?q=zebulon").get_data(as_text=True)
    assert "zebulon.example" in page
    assert 'href="/finance/customers/' in page and 'href="/inventory/products/' in page
    rep_page = login(app.test_client(), "searcher@example.com", "user-pass-123").get(
        "/search?q=zebulon").get_data(as_text=True)
    assert "zebulon.example" in rep_page
    assert 'href="/finance/customers/' not in rep_page and 'href="/inventory/products/' not in rep_page


def test_audit_trail_records_who_changed_what(app, api):
    from tests.conftest import login

    created = api.post("/api/v1/crm/accounts", json={"name": "Audited Ltd", "phone": "1"}).get_json()
    api.patch(f"/api/v1/crm/accounts/{created['id']}", json={"phone": "2"})
    entries = api.get(f"/api/v1/admin/audit?table_name=crm_account&record_id={created['id']}").get_json()
    update, create = entries["items"]
    assert create["action"] == "create" and create["changes"]["name"] == [None, "Audited Ltd"]
    assert update["action"] == "update" and update["changes"]["phone"] == ["1", "2"]
    assert create["actor_id"] is not None
    page = login(app.test_client()).get(f"/crm/accounts/{created['id']}").get_data(as_text=True)
    assert "History" in page and "Audited Ltd" in page


def test_a_refused_action_leaves_no_audit_entry(api):
    api.post("/api/v1/inventory/products", json={"sku": "AUD-1", "name": "One"})
    api.post("/api/v1/inventory/products", json={"sku": "AUD-1", "name": "Two"})
    entries = api.get("/api/v1/admin/audit?table_name=inventory_product").get_json()["items"]
    assert [e["changes"]["name"][1] for e in entries] == ["One"]


def test_idempotency_key_replays_the_first_response(api):
    headers = {"Idempotency-Key": "abc-123"}
    first = api.post("/api/v1/crm/accounts", json={"name": "Once Ltd"}, headers=headers)
    again = api.post("/api/v1/crm/accounts", json={"name": "Once Ltd"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert api.get("/api/v1/crm/accounts?q=Once").get_json()["total"] == 1
    other = api.post("/api/v1/crm/accounts", json={"name": "Twice Ltd"}, headers=headers)
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_user_and_failed_api_calls_are_remembered(app, api):
    from tests.conftest import ApiClient, create_user, token_for

    headers = {"Idempotency-Key": "shared"}
    bad = api.post("/api/v1/crm/accounts", json={"domain": "x"}, headers=headers)
    assert bad.status_code == 422
    assert api.post("/api/v1/crm/accounts", json={"domain": "x"}, headers=headers).status_code == 422
    create_user(app, "other@example.com", ["Sales rep"])
    other = ApiClient(app.test_client(), token_for(app, "other@example.com"))
    assert other.post("/api/v1/crm/accounts", json={"name": "Mine"}, headers=headers).status_code == 201


def test_a_double_submitted_form_acts_once(app):
    import re

    from tests.conftest import login

    browser = login(app.test_client())
    form = browser.get("/crm/accounts/new").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', form))
    data = {"name": "Double Click Ltd", **fields}
    first, second = browser.post("/crm/accounts/new", data=data), browser.post("/crm/accounts/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    listing = browser.get("/crm/accounts?q=Double").get_data(as_text=True)
    assert listing.count(">Double Click Ltd</a>") == 1  # one row in the list


def test_lists_filter_by_any_stored_field_and_updated_since(api):
    import datetime as dt

    api.post("/api/v1/inventory/products", json={"sku": "F-1", "name": "Cheap", "sale_price": "5.00"})
    api.post("/api/v1/inventory/products", json={"sku": "F-2", "name": "Dear", "sale_price": "50.00"})
    assert [p["sku"] for p in api.get("/api/v1/inventory/products?sale_price=50.00").get_json()["items"]] == ["F-2"]
    assert api.get("/api/v1/inventory/products?active=true&sku=F-1").get_json()["total"] == 1
    assert api.get("/api/v1/inventory/products?sale_price=cheap").status_code == 422
    later = (dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=5)).isoformat()
    assert api.get(f"/api/v1/inventory/products?updated_since={later}").get_json()["total"] == 0
    assert api.get("/api/v1/inventory/products?updated_since=2000-01-01T00:00:00").get_json()["total"] >= 2


def test_huge_numbers_are_refused_not_crashed_on(api):
    assert api.get(f"/api/v1/crm/accounts/{10**30}").status_code == 404
    too_big = api.get(f"/api/v1/crm/accounts?owner_id={10**30}")
    assert too_big.status_code < 500  # no such owner: an empty page or a 422, never a crash
    created = api.post("/api/v1/crm/accounts", json={"name": "Big", "owner_id": 10**30})
    assert 400 <= created.status_code < 500


def test_openapi_bounds_are_numbers(app):
    import json
    import re

    text = json.dumps(app.test_client().get("/api/openapi.json").get_json())
    assert not re.search(r'"(minimum|maximum)": "', text)


def test_openapi_documents_the_idempotency_key_on_every_write(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["components"]["parameters"]["IdempotencyKey"]["in"] == "header"
    writes = [(path, m, op) for path, ops in spec["paths"].items() for m, op in ops.items()
              if m in ("post", "put", "patch", "delete")]
    assert len(writes) > 30
    for path, method, op in writes:
        refs = [p.get("$ref") for p in op.get("parameters", [])]
        assert "#/components/parameters/IdempotencyKey" in refs, (method, path)


def test_decimals_are_strings_a_json_number_is_refused_not_rounded(api):
    tiny = api.post("/api/v1/crm/deals", json={"title": "Float deal", "amount": 6.6e-219})
    assert tiny.status_code == 422 and "as strings" in tiny.get_json()["errors"]["amount"][0]
    whole = api.post("/api/v1/inventory/products", json={"sku": "NUM-1", "name": "N", "sale_price": 5})
    assert whole.status_code == 422 and "sale_price" in whole.get_json()["errors"]
    nested = api.post("/api/v1/crm/quotes", json={"deal_id": 1, "lines": [
        {"description": "x", "quantity": "1", "unit_price": 9.99}]})
    assert nested.status_code == 422
    assert "unit_price" in nested.get_json()["errors"]["lines"]["0"]
    assert api.get("/api/v1/crm/deals?q=Float").get_json()["total"] == 0
    assert api.post("/api/v1/crm/deals", json={"title": "String deal", "amount": "12.50"}).status_code == 201


def test_booleans_are_true_or_false_a_number_or_a_word_is_refused(api):
    for wrong in (0.0, 1, "yes", "true"):
        refused = api.post("/api/v1/bridge/reconcile", json={"fix": wrong})
        assert refused.status_code == 422, (wrong, refused.get_json())
        assert refused.get_json()["errors"]["fix"] == ["Give true or false."]
    assert api.post("/api/v1/bridge/reconcile", json={"fix": False}).status_code == 200
    made = api.post("/api/v1/inventory/products", json={"sku": "BOOL-1", "name": "B", "active": 0})
    assert made.status_code == 422 and made.get_json()["errors"]["active"] == ["Give true or false."]
