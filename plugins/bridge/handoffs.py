"""Status flowing back from finance and inventory, and what happens when it cannot.

A won deal's hand-off (order, stock, invoice) is all or nothing with the win. The way back
is different: a payment received or a delivery shipped is a fact in the ERP, so a failure
to carry it to CRM (or to invoice a delivery) must not refuse it. Each back-feed runs in
a savepoint; a failure is rolled back alone and kept as a ``HandoffFailure`` with its
event, shown on the integration health page and retried from there.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from core.db import db, in_savepoint, utcnow
from core.errors import NotFound, RuleViolation
from core.events import jsonable, rebuild, type_name
from core.states import lock_by_id, require_state
from core.models import Event
from plugins.bridge import deliveries, invoices
from plugins.bridge.models import HandoffFailure

log = logging.getLogger(__name__)

HANDLERS = {
    "on_invoice_posted": invoices.invoice_posted,
    "on_payment_received": invoices.payment_received,
    "on_invoice_paid": invoices.invoice_paid,
    "on_credit_note_issued": invoices.credit_note_issued,
    "on_delivery_done": deliveries.delivery_done,
}
WATCHED = ("on_deal_won", "on_deal_lost", "on_case_resolved", *HANDLERS)


def _attempt(name: str, event) -> str | None:
    """Run the handler of ``name`` in a savepoint: None when it worked, else the reason."""
    _, exc = in_savepoint(HANDLERS[name], event)
    if exc is None:
        return None
    log.warning("bridge could not handle %s: %s", name, exc, exc_info=exc)
    return (str(exc) or type(exc).__name__)[:1000]


def feed_back(name: str, event) -> None:
    """Carry an ERP event (``on_invoice_paid``...) to CRM; keep a failure to retry later."""
    reason = _attempt(name, event)
    if reason is not None:
        db.session.add(HandoffFailure(event=name, event_type=type_name(event),
                                      payload=jsonable(event), reason=reason))
        db.session.flush()


def retry(failure_id: int) -> HandoffFailure:
    """Run a failed hand-off again: resolved when it works, its reason updated when not.
    A hand-off already resolved is refused (409), so two clicks carry it once."""
    if db.session.get(HandoffFailure, failure_id) is None:
        raise NotFound(f"no hand-off failure {failure_id}")
    failure = lock_by_id(HandoffFailure, failure_id)
    require_state(failure, ("failed",), "retried")
    failure.attempts += 1
    reason = _attempt(failure.event, rebuild(failure.event_type, failure.payload))
    if reason is None:
        failure.resolved_at = utcnow()
    else:
        failure.reason = reason
    db.session.flush()
    return failure


def failures(open_only: bool = True, limit: int = 100) -> list[HandoffFailure]:
    """Hand-off failures, newest first (only those still to retry, unless ``open_only`` is off)."""
    stmt = sa.select(HandoffFailure).order_by(HandoffFailure.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(HandoffFailure.resolved_at.is_(None))
    return list(db.session.scalars(stmt))


def recent_events(limit: int = 50) -> list[Event]:
    """The latest events the bridge acts on (wins, losses, cases, invoices, payments, deliveries)."""
    return list(db.session.scalars(sa.select(Event).where(Event.name.in_(WATCHED))
                                   .order_by(Event.id.desc()).limit(limit)))


def health() -> dict:
    """The integration health summary: open failures, recent events, drift count."""
    from plugins.bridge.reconcile import reconcile

    return {"failures": failures(), "resolved": failures(open_only=False, limit=20),
            "events": recent_events(), "drift": len(reconcile(fix=False))}
