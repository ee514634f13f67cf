"""CSV helpers: formula neutralising, all-or-nothing import with a report."""
import pytest

from core.csvio import ImportRejected, attr_columns, import_csv, safe_cell, to_csv
from core.db import transaction


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value):
    assert safe_cell(value) == "'" + value
    assert f"'{value}" in to_csv(attr_columns("name"), [{"name": value}])


def test_plain_cells_are_unchanged():
    assert safe_cell("Acme") == "Acme" and safe_cell(None) == "" and safe_cell(12) == "12"


def test_import_is_all_or_nothing_and_reports_every_bad_row(app):
    from plugins.crm.schemas import AccountSchema
    from plugins.crm.services import create_account

    text = "Company,domain\nGood One,good.example\n,missing.example\nBad,not a domain\n"
    with app.app_context():
        with pytest.raises(ImportRejected) as exc:
            with transaction():
                import_csv(text, AccountSchema(), create_account, mapping={"Company": "name"})
        report = exc.value.report
        assert report.total == 3 and report.created == 0
        assert [e.line for e in report.errors] == [3, 4]
        assert "name" in report.errors[0].errors and "domain" in report.errors[1].errors
        with transaction():
            kept = import_csv(text, AccountSchema(), create_account, mapping={"Company": "name"},
                              all_or_nothing=False)
        assert kept.created == 1 and len(kept.errors) == 2
