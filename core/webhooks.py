"""Outbound webhooks: recorded events POSTed to subscribed URLs, signed, retried.

An admin subscribes a URL to event names (``on_invoice_paid``...). ``tandem worker``
turns each recorded event (``core_event``) into one delivery per matching
subscription, then sends the due ones: a JSON body signed with HMAC-SHA256 of
``"<timestamp>.<body>"`` under the subscription's secret (headers
``X-Tandem-Signature: sha256=<hex>`` and ``X-Tandem-Timestamp``). A 2xx answer marks
the delivery done; anything else is retried with exponential backoff until
``MAX_ATTEMPTS``. A delivery is claimed before it is sent, so two workers never send
the same one, and a delivered one is never sent again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow
from core.errors import NotFound, ValidationFailed
from core.models import Event

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30  # 30 s, 1 min, 2 min, 4 min ... capped at 6 h
BACKOFF_CAP = 6 * 3600
SEND_TIMEOUT = 10
CLAIM_SECONDS = 120


class WebhookSubscription(db.Model):
    """A URL that wants to hear about some events."""

    __tablename__ = "core_webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list] = mapped_column(sa.JSON)
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    since_event_id: Mapped[int] = mapped_column(default=0)  # events after this one are sent


class WebhookDelivery(db.Model):
    """One event to send to one subscription, and how that went."""

    __tablename__ = "core_webhook_delivery"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "event_id"),
                      sa.Index("ix_core_webhook_delivery_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("core_webhook_subscription.id", ondelete="CASCADE",
                      name="fk_core_webhook_delivery_subscription"))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("core_event.id",
                                                        name="fk_core_webhook_delivery_event"))
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending|sending|delivered|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[dt.datetime | None]
    event: Mapped[Event] = relationship(lazy="joined")


def known_events(registry) -> set[str]:
    """Names of the event hooks (``on_*``) declared by the kernel and the healthy plugins."""
    return {name for name, caller in vars(registry.pm.hook).items()
            if name.startswith("on_") and getattr(caller, "spec", None) is not None
            and not name.startswith("on_module_")}


def _check(url: str, events: list[str], known_events: set[str]) -> None:
    errors = {}
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        errors["url"] = ["Enter an http:// or https:// URL."]
    unknown = sorted(set(events) - known_events)
    if not events:
        errors["events"] = ["Choose at least one event."]
    elif unknown:
        errors["events"] = [f"Unknown event: {', '.join(unknown)}."]
    if errors:
        raise ValidationFailed(errors)


def subscribe(url: str, events: list[str], known_events: set[str], description: str = "") -> WebhookSubscription:
    """Subscribe ``url`` to ``events`` (hook names); events recorded from now on are sent."""
    _check(url, events, known_events)
    last = db.session.scalar(sa.select(sa.func.max(Event.id))) or 0
    sub = WebhookSubscription(url=url, events=sorted(set(events)), secret=secrets.token_hex(24),
                              description=description or "", since_event_id=last)
    db.session.add(sub)
    db.session.flush()
    return sub


def get_subscription(sub_id: int) -> WebhookSubscription:
    sub = db.session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"webhook subscription {sub_id} not found")
    return sub


def unsubscribe(sub_id: int) -> None:
    """Delete a subscription and its delivery log."""
    db.session.delete(get_subscription(sub_id))


def enqueue() -> int:
    """One pending delivery per (subscription, matching event) not queued yet; returns how many."""
    created = 0
    for sub in db.session.scalars(sa.select(WebhookSubscription).where(WebhookSubscription.active)):
        queued = sa.select(WebhookDelivery.event_id).where(WebhookDelivery.subscription_id == sub.id)
        new = sa.select(sa.literal(sub.id), Event.id, sa.literal("pending"), sa.literal(0),
                        sa.literal(utcnow())).where(
            Event.id > sub.since_event_id, Event.name.in_(sub.events), Event.id.not_in(queued))
        result = db.session.execute(sa.insert(WebhookDelivery).from_select(
            ["subscription_id", "event_id", "status", "attempts", "next_attempt_at"], new))
        created += max(result.rowcount or 0, 0)
    return created


def body_of(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    return json.dumps({"id": event.id, "event": event.name, "key": event.key,
                       "created_at": event.created_at.isoformat() + "Z", "payload": event.payload},
                      separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    """Take a due delivery for this worker; False when another worker has it."""
    claimed = db.session.execute(sa.update(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id,
        sa.or_(WebhookDelivery.status == "pending",
               sa.and_(WebhookDelivery.status == "sending", WebhookDelivery.next_attempt_at <= now)))
        .values(status="sending", next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))).rowcount
    db.session.commit()
    return claimed == 1


def _send(sub: WebhookSubscription, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    body = body_of(delivery)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(sub.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Tandem-Webhooks/1",
        "X-Tandem-Event": delivery.event.name, "X-Tandem-Delivery": str(delivery.id),
        "X-Tandem-Timestamp": timestamp, "X-Tandem-Signature": signature(sub.secret, timestamp, body)})
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def deliver_due(limit: int = 100) -> dict[str, int]:
    """Send the deliveries that are due; commits after each one. Returns counts by outcome."""
    now = utcnow()
    due = db.session.scalars(sa.select(WebhookDelivery.id).where(
        WebhookDelivery.status.in_(["pending", "sending"]), WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id).limit(limit)).all()
    db.session.commit()
    outcome = {"delivered": 0, "retry": 0, "failed": 0}
    for delivery_id in due:
        if not _claim(delivery_id, now):
            continue
        delivery = db.session.get(WebhookDelivery, delivery_id)
        sub = db.session.get(WebhookSubscription, delivery.subscription_id)
        code, error = _send(sub, delivery)
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = code, error
        if code is not None and 200 <= code < 300:
            delivery.status, delivery.delivered_at = "delivered", utcnow()
            outcome["delivered"] += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
            outcome["failed"] += 1
        else:
            delivery.status = "pending"
            wait = min(BACKOFF_SECONDS * 2 ** (delivery.attempts - 1), BACKOFF_CAP)
            delivery.next_attempt_at = utcnow() + dt.timedelta(seconds=wait)
            outcome["retry"] += 1
        db.session.commit()
    return outcome


def run_once() -> dict[str, int]:
    """Queue new events and send what is due (one pass of ``tandem worker``)."""
    queued = enqueue()
    db.session.commit()
    return {"queued": queued, **deliver_due()}


def retry_now(delivery_id: int) -> WebhookDelivery:
    """Make a failed or waiting delivery due at once (from the deliveries page)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} not found")
    if delivery.status != "delivered":
        delivery.status, delivery.next_attempt_at = "pending", utcnow()
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.attempts = MAX_ATTEMPTS - 1
    return delivery
