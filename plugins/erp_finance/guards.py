"""The database-level guard: posted entries, their lines and posted documents never change.

The services refuse such changes with a clear message first; this guard catches any
code path that forgets (another plugin, a shell session, a future bug). It hooks the
ORM itself: ``before_flush`` refuses deletes and new lines on posted entries,
``before_update``/``before_delete`` mapper events refuse changed rows, and ORM bulk
``UPDATE``/``DELETE`` statements on the ledger tables are refused outright. Raw SQL
bypasses the ORM; the hash chain (``tandem finance verify-ledger``) detects that.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import listen_once
from core.errors import RuleViolation

#: Invoice columns that may still change once it is posted (settlement and cancellation).
INVOICE_MUTABLE = {"state", "amount_paid", "updated_at"}
PAYMENT_MUTABLE = {"state", "amount_allocated", "cancel_entry_id", "updated_at"}


class PostedEntryChanged(RuleViolation):
    code = "posted_entry_immutable"


def _old_value(obj, attr: str):
    """The value of ``attr`` as the database has it (before this flush's change)."""
    history = sa.inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    if history.added and not sa.inspect(obj).persistent:
        return None
    return getattr(obj, attr)


def _entry_was_posted(entry) -> bool:
    return entry is not None and sa.inspect(entry).persistent and _old_value(entry, "state") == "posted"


def _document_was_posted(invoice) -> bool:
    return (invoice is not None and sa.inspect(invoice).persistent
            and _old_value(invoice, "state") not in (None, "draft"))


def _changed_columns(obj) -> set[str]:
    state = sa.inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs
            if state.attrs[attr.key].history.has_changes()}


def _refuse(what: str) -> None:
    raise PostedEntryChanged(f"{what} is posted and cannot be changed; correct it with a "
                             f"reversal entry or a credit note")


def _check_entry(entry, deleting: bool = False) -> None:
    if _entry_was_posted(entry) and (deleting or _changed_columns(entry)):
        _refuse(f"Journal entry {entry.number}")


def _check_line(line, deleting: bool = False) -> None:
    from plugins.erp_finance.models import JournalEntry

    entry = line.entry
    if entry is None and line.entry_id is not None:
        entry = sa.inspect(line).session.get(JournalEntry, line.entry_id)
    if _entry_was_posted(entry) and (deleting or not sa.inspect(line).persistent
                                     or _changed_columns(line)):
        _refuse(f"A line of journal entry {entry.number}")
    if sa.inspect(line).persistent:
        old_entry_id = _old_value(line, "entry_id")
        if old_entry_id != line.entry_id:
            old = sa.inspect(line).session.get(JournalEntry, old_entry_id)
            if _entry_was_posted(old):
                _refuse(f"A line of journal entry {old.number}")


def _check_invoice(invoice, deleting: bool = False) -> None:
    if not _document_was_posted(invoice):
        return
    if deleting or _changed_columns(invoice) - INVOICE_MUTABLE:
        _refuse(f"Document {invoice.number}")


def _check_invoice_line(line, deleting: bool = False) -> None:
    from plugins.erp_finance.models import Invoice

    invoice = line.invoice
    if invoice is None and line.invoice_id is not None:
        invoice = sa.inspect(line).session.get(Invoice, line.invoice_id)
    if _document_was_posted(invoice):
        _refuse(f"A line of document {invoice.number}")


def _check_payment(payment, deleting: bool = False) -> None:
    if sa.inspect(payment).persistent and (deleting or _changed_columns(payment) - PAYMENT_MUTABLE):
        _refuse(f"Payment {payment.number}")


def _checks():
    from plugins.erp_finance import models as m

    return {m.JournalEntry: _check_entry, m.JournalLine: _check_line, m.Invoice: _check_invoice,
            m.InvoiceLine: _check_invoice_line, m.Payment: _check_payment}


@sa.event.listens_for(Session, "before_flush")
def _before_flush(session, _flush_context, _instances) -> None:
    checks = _checks()
    for obj in session.deleted:
        check = checks.get(type(obj))
        if check:
            check(obj, deleting=True)
    for obj in session.new:
        if type(obj).__name__ in ("JournalLine", "InvoiceLine") and type(obj) in checks:
            checks[type(obj)](obj)
    for obj in session.dirty:
        check = checks.get(type(obj))
        if check and session.is_modified(obj, include_collections=False):
            check(obj)


def _mapper_guard(_mapper, _connection, target) -> None:
    _checks()[type(target)](target)


def _mapper_delete_guard(_mapper, _connection, target) -> None:
    _checks()[type(target)](target, deleting=True)


def install_mapper_guards() -> None:
    """Attach ``before_update``/``before_delete`` to the ledger and document models."""
    for model in _checks():
        listen_once(model, "before_update", _mapper_guard)
        listen_once(model, "before_delete", _mapper_delete_guard)


GUARDED_TABLES = ("finance_entry", "finance_entry_line")


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(orm_execute_state) -> None:
    """ORM ``update(JournalLine)``/``delete(...)`` skip the per-row checks: refuse them."""
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    table = getattr(mapper, "local_table", None) if mapper is not None else None
    if table is not None and table.name in GUARDED_TABLES:
        raise PostedEntryChanged("journal entries change only through the finance services "
                                 "(bulk UPDATE/DELETE of entries and lines is refused)")
