"""tandem backup / tandem restore bring back every record, on SQLite and PostgreSQL."""
import sqlalchemy as sa

from core.db import db
from tests.conftest import ApiClient, make_app, token_for


def _counts(app) -> dict:
    with app.app_context():
        names = sa.inspect(db.engine).get_table_names()
        return {n: db.session.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}


def test_backup_then_restore_into_a_new_database_finds_every_record(app, databases, tmp_path):
    api = ApiClient(app.test_client(), token_for(app))
    api.post("/api/v1/crm/accounts", json={"name": "Backed Up Ltd"})
    api.post("/api/v1/inventory/products", json={"sku": "BK-1", "name": "Kept"})
    before = _counts(app)

    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "tandem.backup")])
    assert result.exit_code == 0, result.output

    target_url = databases.empty()
    restored = make_app(target_url)
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "tandem.backup")])
    assert result.exit_code == 0, result.output
    assert _counts(restored) == before
    again = ApiClient(restored.test_client(), token_for(restored))
    assert [a["name"] for a in again.get("/api/v1/crm/accounts").get_json()["items"]] == ["Backed Up Ltd"]

    refused = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "tandem.backup")])
    assert refused.exit_code != 0 and "not empty" in refused.output
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(target_url)
