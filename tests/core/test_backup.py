"""tandem backup / tandem restore bring back every record and a ledger whose hash chains
verify, on SQLite (online backup) and PostgreSQL (pg_dump / pg_restore)."""
import shutil
from pathlib import Path

import pytest

from core import backup
from core.db import db
from tests.conftest import ApiClient, make_app, token_for
from tests.reliability.checks import row_counts


def _books(api: ApiClient) -> None:
    """Records of every module, and posted entries in the sale and bank journals."""
    api.post("/api/v1/crm/accounts", json={"name": "Backed Up Ltd"})
    api.post("/api/v1/inventory/products", json={"sku": "BK-1", "name": "Kept"})
    customer = api.post("/api/v1/finance/customers", json={"name": "Ledger Ltd", "currency": "EUR"}).get_json()
    for price in ("120.00", "80.50"):
        invoice = api.post("/api/v1/finance/invoices", json={
            "customer_id": customer["id"], "post": True,
            "lines": [{"description": "Work", "quantity": "1", "unit_price": price}]})
        assert invoice.status_code == 201, invoice.get_data(as_text=True)
    paid = api.post("/api/v1/finance/payments", json={"customer_id": customer["id"], "amount": "100.00",
                                                      "auto_allocate": True})
    assert paid.status_code == 201, paid.get_data(as_text=True)


def _verify_ledger(app) -> list[str]:
    result = app.test_cli_runner().invoke(args=["finance", "verify-ledger"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("ledger intact")
    return result.output.splitlines()


def test_backup_then_restore_into_a_new_database_finds_every_record(app, databases, tmp_path):
    _books(ApiClient(app.test_client(), token_for(app)))
    before = row_counts(app)
    chains = _verify_ledger(app)
    assert any(line.split()[1] != "0" for line in chains[:-1]), chains  # something is posted

    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "tandem.backup")])
    assert result.exit_code == 0, result.output

    target_url = databases.empty()
    restored = make_app(target_url)
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "tandem.backup")])
    assert result.exit_code == 0, result.output
    assert row_counts(restored) == before
    assert _verify_ledger(restored) == chains  # same journals, same number of entries, intact
    again = ApiClient(restored.test_client(), token_for(restored))
    assert [a["name"] for a in again.get("/api/v1/crm/accounts").get_json()["items"]] == ["Backed Up Ltd"]
    assert [i["amount_total"] for i in again.get("/api/v1/finance/invoices").get_json()["items"]] \
        == ["80.50", "120.00"]

    refused = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "tandem.backup")])
    assert refused.exit_code != 0 and "not empty" in refused.output
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(target_url)


def test_postgresql_tools_are_found_off_the_path(monkeypatch):
    """Debian keeps pg_dump/pg_restore in /usr/lib/postgresql/<major>/bin; the newest is used."""
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_restore"))
    if not installed:
        pytest.skip("no PostgreSQL client under /usr/lib/postgresql on this machine")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    for name in ("pg_dump", "pg_restore"):
        found = Path(backup._tool(name))
        assert found.name == name and found.is_file()
        assert int(found.parent.parent.name) == max(int(p.parent.parent.name) for p in installed)
