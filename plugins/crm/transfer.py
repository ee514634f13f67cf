"""CSV import and export of accounts, contacts and leads (through ``core.csvio``)."""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from core import records
from core.csvio import ImportReport, attr_columns, to_csv
from core.db import db
from core.errors import NotFound
from plugins.crm.records import TRANSFERABLE

EXPORT_COLUMNS = {
    "accounts": ("id", "name", "domain", "industry", "size", "phone", "address", "tags", "owner_name"),
    "contacts": ("id", "name", "email", "email_alt", "phone", "mobile", "job_title", "account_name",
                 "source", "tags", "owner_name"),
    "leads": ("id", "name", "company", "email", "phone", "source", "industry", "territory", "status",
              "owner_name", "notes"),
}


def _record_type(kind: str):
    if kind not in TRANSFERABLE:
        raise NotFound(f"nothing to import or export named {kind!r} (accounts, contacts, leads)")
    return TRANSFERABLE[kind]


def export_rows(kind: str, args: dict | None = None):
    """The records of ``kind`` the user may see (filtered like the list), for a CSV download."""
    rt = _record_type(kind)
    stmt = rt.filtered(args or {}).order_by(sa.inspect(rt.model).primary_key[0])
    return attr_columns(*EXPORT_COLUMNS[kind]), db.session.scalars(stmt)


def export_csv(kind: str, args: dict | None = None) -> str:
    """CSV text of ``kind``; cells that a spreadsheet would run as formulas are neutralised."""
    columns, rows = export_rows(kind, args)
    return to_csv(columns, rows)


def import_records(kind: str, text: str, mapping: dict | None = None, all_or_nothing: bool = True,
                   progress: Callable[[int], None] | None = None) -> ImportReport:
    """Create ``kind`` records from CSV as every record type's import does (custom fields, links
    by name; see ``core.records.import_records``); all-or-nothing by default."""
    return records.import_records(_record_type(kind), text, mapping, all_or_nothing, progress)


parse_mapping = records.parse_mapping
