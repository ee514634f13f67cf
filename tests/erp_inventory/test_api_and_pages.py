"""The JSON API, the pages, reports, CSV import/export, conformance, and inventory alone."""
from __future__ import annotations

import pytest

from tests.conformance import check_plugin, plugin_rules
from tests.conftest import csrf_from


def test_conformance(app):
    check_plugin(app, "erp_inventory")


def _setup(api):
    wh = api.post("/api/v1/inventory/warehouses", json={"code": "wh1", "name": "Main"}).get_json()
    p = api.post("/api/v1/inventory/products", json={"sku": "abc-1", "name": "Widget", "cost": "2.00"}).get_json()
    return wh, p


def _receive(api, wh, p, quantity):
    doc = api.post("/api/v1/inventory/documents", json={
        "kind": "receipt", "warehouse_id": wh["id"],
        "lines": [{"product_id": p["id"], "quantity": quantity, "unit_cost": "3.0000"}]})
    assert doc.status_code == 201, doc.get_json()
    done = api.post(f"/api/v1/inventory/documents/{doc.get_json()['id']}/validate", json={})
    assert done.status_code == 200, done.get_json()
    return done.get_json()


def test_api_flow_reserve_deliver_status(inv_api):
    wh, p = _setup(inv_api)
    assert wh["code"] == "WH1"
    _receive(inv_api, wh, p, "5")
    refused = inv_api.post("/api/v1/inventory/reservations", json={"reference": "SO-1", "product_id": p["id"], "quantity": "6"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "insufficient_stock"
    assert "available" in refused.get_json()["message"]
    bad = inv_api.post("/api/v1/inventory/reservations", json={"reference": "SO-1", "product_id": p["id"], "quantity": "-1"})
    assert bad.status_code == 422 and "quantity" in bad.get_json()["errors"]
    delivery = inv_api.post("/api/v1/inventory/deliveries", json={"reference": "SO-1", "lines": [{"sku": "ABC-1", "quantity": "2"}]})
    assert delivery.status_code == 201 and delivery.get_json()["state"] == "ready"
    avail = inv_api.get(f"/api/v1/inventory/products/{p['id']}/availability").get_json()
    assert (avail["on_hand"], avail["reserved"], avail["available"]) == ("5.000", "2.000", "3.000")
    inv_api.post(f"/api/v1/inventory/documents/{delivery.get_json()['id']}/validate", json={})
    status = inv_api.get("/api/v1/inventory/deliveries/SO-1/status").get_json()
    assert status["state"] == "delivered" and status["delivered"] == "2.000"
    assert inv_api.get("/api/v1/inventory/deliveries/NOPE/status").status_code == 404
    assert inv_api.get("/api/v1/inventory/check").get_json()["ok"] is True


def test_locations_virtual_ones_have_no_warehouse_and_new_ones_need_one(inv_api):
    wh, _p = _setup(inv_api)
    items = inv_api.get("/api/v1/inventory/locations?per_page=200").get_json()["items"]
    virtual = [loc for loc in items if loc["kind"] != "internal"]
    assert virtual and all(loc["warehouse_id"] is None for loc in virtual)
    spec = inv_api.get("/api/openapi.json").get_json()
    assert spec["components"]["schemas"]["LocationRecord"]["properties"]["warehouse_id"]["nullable"] is True
    refused = inv_api.post("/api/v1/inventory/locations", json={"name": "Shelf A", "warehouse_id": None})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["warehouse_id"] == ["Choose the warehouse the location belongs to."]
    made = inv_api.post("/api/v1/inventory/locations", json={"name": "Shelf A", "warehouse_id": wh["id"]})
    assert made.status_code == 201 and made.get_json()["warehouse_id"] == wh["id"]


def test_a_draft_document_keeps_its_kind_of_locations(inv_api):
    wh, p = _setup(inv_api)
    doc = inv_api.post("/api/v1/inventory/documents", json={
        "kind": "receipt", "warehouse_id": wh["id"], "lines": [{"product_id": p["id"], "quantity": "1"}]}).get_json()
    unknown = inv_api.patch(f"/api/v1/inventory/documents/{doc['id']}", json={"destination_location_id": 999999})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"]["destination_location_id"] == ["Location 999999 does not exist."]
    source = inv_api.patch(f"/api/v1/inventory/documents/{doc['id']}",
                           json={"source_location_id": doc["destination_location_id"]})
    assert source.status_code == 422 and "set by its kind" in source.get_json()["errors"]["source_location_id"][0]
    same = inv_api.patch(f"/api/v1/inventory/documents/{doc['id']}",
                         json={"source_location_id": doc["source_location_id"], "notes": "kept"})
    assert same.status_code == 200 and same.get_json()["notes"] == "kept"


def test_purchase_order_api(inv_api):
    wh, p = _setup(inv_api)
    supplier = inv_api.post("/api/v1/inventory/suppliers", json={"name": "Acme", "currency": "USD"}).get_json()
    po = inv_api.post("/api/v1/inventory/purchase_orders", json={
        "supplier_id": supplier["id"], "warehouse_id": wh["id"],
        "lines": [{"product_id": p["id"], "quantity": "10", "unit_price": "5.00"}]}).get_json()
    assert po["currency"] == "USD" and po["total"] == "50.00"
    assert inv_api.post(f"/api/v1/inventory/purchase_orders/{po['id']}/confirm").get_json()["state"] == "confirmed"
    line_id = po["lines"][0]["id"]
    over = inv_api.post(f"/api/v1/inventory/purchase_orders/{po['id']}/receive", json={"quantities": {str(line_id): "11"}})
    assert over.status_code == 422
    receipt = inv_api.post(f"/api/v1/inventory/purchase_orders/{po['id']}/receive", json={"quantities": {str(line_id): "4"}})
    assert receipt.status_code == 200 and receipt.get_json()["kind"] == "receipt"
    open_pos = inv_api.get("/api/v1/inventory/reports/open-purchase-orders").get_json()
    assert open_pos["rows"][0]["received"] == "4.000" if isinstance(open_pos["rows"][0]["received"], str) \
        else float(open_pos["rows"][0]["received"]) == 4


def test_reports_json_page_and_csv(inv_api, inv_admin):
    wh, p = _setup(inv_api)
    _receive(inv_api, wh, p, "4")
    levels = inv_api.get("/api/v1/inventory/reports/stock-levels").get_json()
    assert levels["total_rows"] == 1 and float(levels["rows"][0]["value"]) == 12.0
    valuation = inv_api.get("/api/v1/inventory/reports/valuation").get_json()
    assert float(valuation["totals"]["value"]) == 12.0
    moves = inv_api.get(f"/api/v1/inventory/reports/movements?product_id={p['id']}").get_json()
    assert float(moves["rows"][0]["balance"]) == 4.0
    page = inv_admin.get("/inventory/reports/stock-levels")
    assert page.status_code == 200 and "ABC-1" in page.get_data(as_text=True)
    csv = inv_admin.get("/inventory/reports/valuation?format=csv")
    assert csv.mimetype == "text/csv" and "WH1" in csv.get_data(as_text=True)
    assert inv_api.get("/api/v1/inventory/reports/stock-levels?bogus=1").status_code == 422


def test_movement_history_pages_show_each_products_balance_after_the_move(inv_api, inv_admin):
    wh, p = _setup(inv_api)
    p2 = inv_api.post("/api/v1/inventory/products", json={"sku": "xyz-2", "name": "Gadget", "cost": "1.00"}).get_json()
    _receive(inv_api, wh, p, "4")
    _receive(inv_api, wh, p2, "3")
    delivery = inv_api.post("/api/v1/inventory/deliveries", json={"reference": "SO-9", "lines": [{"sku": "ABC-1", "quantity": "1"}]})
    inv_api.post(f"/api/v1/inventory/documents/{delivery.get_json()['id']}/validate", json={})
    seen = []
    for page in (1, 2, 3):
        got = inv_api.get(f"/api/v1/inventory/reports/movements?per_page=1&page={page}").get_json()
        assert got["total_rows"] == 3
        seen += [(r["sku"], r["change"], r["balance"]) for r in got["rows"]]
    assert seen == [("ABC-1", "-1.000", "3.000"), ("XYZ-2", "3.000", "3.000"), ("ABC-1", "4.000", "4.000")]
    only = inv_api.get("/api/v1/inventory/reports/movements?q=xyz").get_json()
    assert only["total_rows"] == 1 and only["rows"][0]["balance"] == "3.000"
    here = inv_api.get(f"/api/v1/inventory/reports/movements?warehouse_id={wh['id']}&q=SO-9").get_json()
    assert [(r["sku"], r["balance"]) for r in here["rows"]] == [("ABC-1", "3.000")]
    csv = inv_admin.get("/inventory/reports/movements?format=csv").get_data(as_text=True)
    assert csv.count("\n") == 4 and ",3.000," in csv


def test_import_is_all_or_nothing_and_export_is_formula_safe(inv_api, inv_admin):
    bad = "sku,name,sale_price\nOK-1,Fine,1.00\nBAD 2,,x\n"
    rejected = inv_api.post("/api/v1/inventory/import/products", json={"csv": bad})
    assert rejected.status_code == 422 and rejected.get_json()["report"]["errors"][0]["line"] == 3
    assert inv_api.get("/api/v1/inventory/products").get_json()["total"] == 0
    good = "sku,name,sale_price\nOK-1,=HYPERLINK(1),1.00\nOK-2,Two,2.00\n"
    assert inv_api.post("/api/v1/inventory/import/products", json={"csv": good}).get_json()["created"] == 2
    inv_api.post("/api/v1/inventory/warehouses", json={"code": "WH1", "name": "Main"})
    stock = inv_api.post("/api/v1/inventory/import/stock", json={"csv": "sku,warehouse,quantity,unit_cost\nOK-1,WH1,7,2.5\n"})
    assert stock.status_code == 200, stock.get_json()
    exported = inv_admin.get("/inventory/export/products.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in exported
    assert "OK-1,WH1,7.000" in inv_admin.get("/inventory/export/stock.csv").get_data(as_text=True)


def test_pages_create_a_document_and_validate_it_with_buttons(inv_app, inv_api, inv_admin):
    wh, p = _setup(inv_api)
    form = inv_admin.get("/inventory/documents/new")
    token = csrf_from(form)
    created = inv_admin.post("/inventory/documents/new", data={"csrf_token": token, "kind": "receipt",
                                                               "warehouse_id": wh["id"]})
    assert created.status_code == 302
    url = created.headers["Location"]
    doc_id = int(url.rstrip("/").rsplit("/", 1)[1])
    inv_admin.post(f"/inventory/documents/{doc_id}/lines", data={"csrf_token": token, "product_id": p["id"], "quantity": "3"})
    done = inv_admin.post(f"/inventory/documents/{doc_id}/validate", data={"csrf_token": token}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "validate done" in html and "done" in html
    refused = inv_admin.post("/inventory/reservations", data={"csrf_token": token, "reference": "X", "product_id": p["id"],
                                                              "quantity": "99"}, follow_redirects=True)
    assert "available" in refused.get_data(as_text=True)
    errors = inv_admin.post("/inventory/warehouses/new", data={"csrf_token": token, "code": "bad code!", "name": ""})
    assert errors.status_code == 422


def test_inventory_alone_every_plain_page_and_list_answers(inv_app, inv_api, inv_admin):
    registry = inv_app.extensions["tandem"]
    with inv_app.app_context():
        assert registry.installed - registry.essential_names() == {"erp_inventory"}
        rules = plugin_rules(inv_app, registry, "erp_inventory")
    for rule, blueprint in rules:
        if "GET" not in rule.methods or rule.arguments:
            continue
        client = inv_api if rule.rule.startswith("/api/") else inv_admin
        assert client.get(rule.rule).status_code == 200, rule.rule
    assert "Products below reorder point" in inv_admin.get("/").get_data(as_text=True)


def test_cli_check_and_replenish(inv_app):
    runner = inv_app.test_cli_runner()
    assert "ok" in runner.invoke(args=["inventory", "check"]).output
    assert "nothing to order" in runner.invoke(args=["inventory", "replenish"]).output


def test_product_selects_offer_active_products_by_sku_and_name(inv_api, inv_admin):
    wh, widget = _setup(inv_api)
    old = inv_api.post("/api/v1/inventory/products", json={"sku": "OLD-1", "name": "Retired widget"}).get_json()
    supplier = inv_api.post("/api/v1/inventory/suppliers", json={"name": "Old Parts"}).get_json()
    price = inv_api.post("/api/v1/inventory/supplier_prices", json={
        "supplier_id": supplier["id"], "product_id": old["id"], "price": "2.00"})
    assert price.status_code == 201, price.get_json()
    assert inv_api.patch(f"/api/v1/inventory/products/{old['id']}", json={"active": False}).status_code == 200

    found = inv_admin.get("/inventory/products/choices?q=widget").get_json()["choices"]
    assert {"value": str(widget["id"]), "label": f"{widget['sku']} {widget['name']}"} in found
    assert str(old["id"]) not in [c["value"] for c in found]  # not offered any more
    doc = inv_api.post("/api/v1/inventory/documents", json={"kind": "receipt", "warehouse_id": wh["id"]}).get_json()
    page = inv_admin.get(f"/inventory/documents/{doc['id']}").get_data(as_text=True)
    assert 'data-choices="/inventory/products/choices"' in page
    # the supplier price still shows the retired product it is for
    edit = inv_admin.get(f"/inventory/supplier_prices/{price.get_json()['id']}/edit").get_data(as_text=True)
    assert f'<option value="{old["id"]}" selected>OLD-1 Retired widget</option>' in edit


def test_a_rule_a_form_breaks_is_shown_on_the_form_and_a_received_order_has_none(inv_api, inv_admin):
    wh, p = _setup(inv_api)
    first, other = (inv_api.post("/api/v1/inventory/suppliers", json={"name": n}).get_json() for n in ("Acme", "Other"))
    po = inv_api.post("/api/v1/inventory/purchase_orders", json={
        "supplier_id": first["id"], "warehouse_id": wh["id"],
        "lines": [{"product_id": p["id"], "quantity": "2", "unit_price": "5.00"}]}).get_json()
    assert inv_api.post(f"/api/v1/inventory/purchase_orders/{po['id']}/confirm").status_code == 200

    edit = f"/inventory/purchase_orders/{po['id']}/edit"
    refused = inv_admin.post(edit, data={"csrf_token": csrf_from(inv_admin.get(edit)), "supplier_id": other["id"],
                                         "warehouse_id": wh["id"], "notes": "typed"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "it cannot be given another supplier." in html and "typed</textarea>" in html  # the form, kept
    assert inv_api.get(f"/api/v1/inventory/purchase_orders/{po['id']}").get_json()["supplier_id"] == first["id"]

    line_id = po["lines"][0]["id"]
    assert inv_api.post(f"/api/v1/inventory/purchase_orders/{po['id']}/receive",
                        json={"quantities": {str(line_id): "2"}}).status_code == 200
    assert edit not in inv_admin.get(f"/inventory/purchase_orders/{po['id']}").get_data(as_text=True)
    assert inv_admin.get(edit).status_code == 302
