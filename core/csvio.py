"""CSV import and export shared by every plugin.

Export neutralises spreadsheet formulas: a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows
it as text instead of running it.

Import maps CSV headers to schema fields, validates every row with the record's
marshmallow schema, and creates records through the plugin's service. By default it
is all-or-nothing: one bad row and nothing is created, and the report lists every
bad row with its line number and messages.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import marshmallow as ma
from flask import Response

from core.db import db
from core.errors import TandemError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A value as CSV text that no spreadsheet will execute."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(columns: list[tuple[str, Callable[[Any], Any]]], rows: Iterable[Any]) -> str:
    """CSV text with a header row; ``columns`` are (header, getter) pairs."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in columns])
    for row in rows:
        writer.writerow([safe_cell(get(row)) for _, get in columns])
    return out.getvalue()


def csv_response(filename: str, columns: list[tuple[str, Callable[[Any], Any]]],
                 rows: Iterable[Any]) -> Response:
    """A download of ``rows`` as ``filename`` (formula-safe)."""
    return Response(to_csv(columns, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def attr_columns(*names: str) -> list[tuple[str, Callable[[Any], Any]]]:
    """Columns that read attributes (or dict keys) of the same names."""
    def getter(name):
        return lambda row: row.get(name) if isinstance(row, dict) else getattr(row, name, None)

    return [(name, getter(name)) for name in names]


@dataclass
class RowError:
    line: int  # line number in the file, the header being line 1
    errors: dict[str, list[str]]


@dataclass
class ImportReport:
    """What an import did: rows read, records created, and every bad row."""

    total: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"total": self.total, "created": self.created, "ok": self.ok,
                "unknown_columns": self.unknown_columns,
                "errors": [{"line": e.line, "errors": e.errors} for e in self.errors]}


class ImportRejected(TandemError):
    """An all-or-nothing import found bad rows: nothing was created (422)."""

    status = 422
    code = "import_rejected"

    def __init__(self, report: ImportReport):
        super().__init__(f"{len(report.errors)} of {report.total} rows are invalid; nothing was imported")
        self.report = report

    def to_dict(self) -> dict:
        return {**super().to_dict(), "report": self.report.to_dict()}


def import_csv(text: str, schema: ma.Schema, create: Callable[[dict], Any],
               mapping: dict[str, str] | None = None, all_or_nothing: bool = True,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Create one record per CSV row through ``create`` (a service function).

    ``mapping`` renames CSV headers to schema fields (``{"Company": "name"}``); other
    headers must be field names, else they are reported as unknown and ignored.
    With ``all_or_nothing`` any bad row raises ``ImportRejected`` and the caller's
    transaction must roll back (a request does); otherwise bad rows are skipped and
    good ones kept, each in its own savepoint.
    """
    mapping = mapping or {}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = set(schema.load_fields)
    headers = reader.fieldnames or []
    report = ImportReport(unknown_columns=[h for h in headers if mapping.get(h, h) not in fields])
    if headers and len(report.unknown_columns) == len(headers):
        report.errors.append(RowError(1, {"_header": [
            f"No known column; use the field names ({', '.join(sorted(fields))}) or a mapping."]}))
        raise ImportRejected(report)
    parsed: list[tuple[int, dict]] = []
    for line, raw in enumerate(reader, start=2):
        report.total += 1
        data = {mapping.get(k, k): v.strip() for k, v in raw.items()
                if k is not None and mapping.get(k, k) in fields and v is not None and v.strip() != ""}
        try:
            parsed.append((line, schema.load(data)))
        except ma.ValidationError as exc:
            report.errors.append(RowError(line, exc.messages))
    if report.errors and all_or_nothing:
        raise ImportRejected(report)
    for line, data in parsed:
        try:
            if all_or_nothing:
                create(data)
            else:
                with db.session.begin_nested():
                    create(data)
            report.created += 1
        except TandemError as exc:
            report.errors.append(RowError(line, getattr(exc, "errors", None) or {"_row": [exc.message]}))
            if all_or_nothing:
                raise ImportRejected(report) from exc
        if progress:
            progress(1)
    return report
