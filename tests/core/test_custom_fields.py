"""Custom fields: added from the admin page, at once in forms, detail, filters, API,
OpenAPI and CSV, validated, with no code change or restart."""
import csv
import io

from tests.conftest import ApiClient, csrf_from, login, token_for


def _add(api, **field):
    response = api.post("/api/v1/admin/custom-fields", json={"record_type": "crm.account", **field})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_custom_fields_in_the_api_filters_and_openapi(app, api):
    _add(api, name="region", label="Region", kind="choice", choices=["North", "South"])
    _add(api, name="employees", label="Employees", kind="number")
    _add(api, name="partner", label="Partner", kind="boolean")

    made = api.post("/api/v1/crm/accounts", json={"name": "Custom Ltd",
                                                   "custom": {"region": "North", "employees": "12"}})
    assert made.status_code == 201
    assert made.get_json()["custom"] == {"region": "North", "employees": "12"}
    record_id = made.get_json()["id"]
    api.post("/api/v1/crm/accounts", json={"name": "Other Ltd", "custom": {"region": "South"}})

    bad = api.post("/api/v1/crm/accounts", json={"name": "Bad", "custom": {"region": "East", "colour": 1}})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"custom.region", "custom.colour"}

    north = api.get("/api/v1/crm/accounts?custom.region=North").get_json()
    assert [a["name"] for a in north["items"]] == ["Custom Ltd"]
    assert api.get("/api/v1/crm/accounts?custom.region=East").status_code == 422
    assert api.get("/api/v1/crm/accounts?nonsense=1").status_code == 422

    patched = api.patch(f"/api/v1/crm/accounts/{record_id}", json={"custom": {"partner": True}})
    assert patched.get_json()["custom"] == {"region": "North", "employees": "12", "partner": True}

    spec = app.test_client().get("/api/openapi.json").get_json()
    custom = spec["components"]["schemas"]["AccountRecord"]["properties"]["custom"]["properties"]
    assert custom["region"]["enum"] == ["North", "South"] and custom["partner"]["type"] == "boolean"
    params = [p["name"] for p in spec["paths"]["/api/v1/crm/accounts"]["get"]["parameters"]]
    assert "custom.region" in params


def test_a_required_custom_field_is_enforced(api):
    _add(api, name="vat_number", label="VAT number", kind="text", required=True)
    assert api.post("/api/v1/crm/accounts", json={"name": "No Vat"}).status_code == 422
    assert api.post("/api/v1/crm/accounts", json={"name": "Vat", "custom": {"vat_number": "X1"}}).status_code == 201


def test_custom_fields_on_the_pages_and_in_the_csv_export(app):
    browser = login(app.test_client())
    page = browser.get("/admin/custom-fields")
    token = csrf_from(page)
    added = browser.post("/admin/custom-fields", data={
        "record_type": "crm.account", "name": "since", "label": "Customer since", "kind": "date",
        "csrf_token": token}, follow_redirects=True)
    assert "Customer since" in added.get_data(as_text=True)
    bad = browser.post("/admin/custom-fields", data={"record_type": "crm.account", "name": "Bad Name",
                                                     "label": "", "kind": "choice", "csrf_token": token})
    assert bad.status_code == 422

    form = browser.get("/crm/accounts/new").get_data(as_text=True)
    assert 'name="custom.since"' in form
    wrong = browser.post("/crm/accounts/new", data={"name": "Dated Ltd", "custom.since": "yesterday",
                                                    "csrf_token": token})
    assert wrong.status_code == 422 and "YYYY-MM-DD" in wrong.get_data(as_text=True)
    assert 'value="Dated Ltd"' in wrong.get_data(as_text=True)
    saved = browser.post("/crm/accounts/new", data={"name": "Dated Ltd", "custom.since": "2024-02-29",
                                                    "csrf_token": token})
    assert saved.status_code == 302
    detail = browser.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Customer since" in detail and "2024-02-29" in detail

    export = browser.get("/crm/accounts.csv?q=Dated").get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(export)))
    assert row["custom.since"] == "2024-02-29" and row["name"] == "Dated Ltd"


def test_csv_import_from_the_page_the_api_and_the_cli(app, api, tmp_path):
    _add(api, name="region", label="Region", kind="choice", choices=["North", "South"])
    text = "Company,domain,custom.region\nImp One,one.example,North\nImp Two,two.example,South\n"
    done = api.client.post("/api/v1/crm/accounts/import?mapping=Company%3Dname", data=text,
                           headers={"Authorization": f"Bearer {api.token}", "Content-Type": "text/csv"})
    assert done.status_code == 200 and done.get_json()["created"] == 2
    north = api.get("/api/v1/crm/accounts?custom.region=North&q=Imp").get_json()["items"]
    assert [a["name"] for a in north] == ["Imp One"]

    bad = "name,custom.region\nGood,North\nWrong,East\n,South\n"
    refused = api.client.post("/api/v1/crm/accounts/import", data=bad,
                              headers={"Authorization": f"Bearer {api.token}", "Content-Type": "text/csv"})
    assert refused.status_code == 422
    report = refused.get_json()["report"]
    assert report["created"] == 0 and [e["line"] for e in report["errors"]] == [3, 4]
    assert "custom.region" in report["errors"][0]["errors"] and "name" in report["errors"][1]["errors"]
    assert api.get("/api/v1/crm/accounts?q=Good").get_json()["total"] == 0  # all or nothing

    browser = login(app.test_client())
    token = csrf_from(browser.get("/crm/accounts/import"))
    page = browser.post("/crm/accounts/import", data={"text": bad, "skip_bad_rows": "1", "csrf_token": token})
    assert page.status_code == 200 and "1 created" in page.get_data(as_text=True)

    path = tmp_path / "accounts.csv"
    path.write_text("name,domain\nCli Ltd,cli.example\n")
    result = app.test_cli_runner().invoke(args=["import", "crm.account", str(path)])
    assert result.exit_code == 0 and "imported 1 of 1 rows" in result.output
