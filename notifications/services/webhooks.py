"""Webhook endpoints and deliveries: created with the change that causes an event, dispatched.

Sending one delivery and deciding on its retry is in webhook_delivery.py.

Every delivery is a database row, so none is lost: the row is written in
the same transaction as the order change, the first send is published
through the outbox after commit, and every retry is only a new
`next_attempt_at` on the row that the beat task `dispatch_due_webhooks`
picks up (no broker countdowns, whatever the delay: a 10-hour wait could
never be a countdown under the Redis visibility timeout).

Dispatching a row pushes its `next_attempt_at` a lease ahead, so the beat
task does not dispatch it again while a worker is sending; if the worker
dies, the row is due again when the lease runs out. `attempts` doubles as a
token: a task message carries the attempt count it was dispatched for and
is a no-op once that has moved on, so a duplicated message never sends twice.
"""

import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from jobs.services.outbox import publish_on_commit

from .. import steps
from ..lock_objects import claim_due_deliveries, lock_open_deliveries
from ..models import WebhookDelivery, WebhookEndpoint
from ..webhooks import safe_http, signing

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "order.created",
    "order.paid",
    "order.payment_failed",
    "order.invoiced",
    "order.cancelled",
)
TEST_EVENT = "webhook.test"
# Longer than deliver_webhook's hard time limit: a dispatched row is not
# dispatched again before its send has finished or its worker died.
DISPATCH_LEASE_SECONDS = 120


# --- Endpoints -------------------------------------------------------------------


def validate_endpoint_url(url: str) -> None:
    """Refuse a URL webhooks must not go to (UnsafeWebhookURL with the reason)."""
    try:
        safe_http.check_url(url)
    except safe_http.HostLookupFailed as exc:
        raise safe_http.UnsafeWebhookURL(f"refusing {url}: {exc}") from exc


def create_endpoint(*, url: str, event_types: list[str], description: str = "") -> WebhookEndpoint:
    """Add an endpoint with a new `whsec_` secret, after the SSRF checks pass."""
    validate_endpoint_url(url)
    unknown = set(event_types) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(sorted(unknown))}")
    return WebhookEndpoint.objects.create(
        url=url,
        event_types=list(event_types),
        description=description,
        secret=signing.generate_secret(),
    )


def rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """Give the endpoint a new secret; requests signed from now on use it."""
    endpoint.secret = signing.generate_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


def enable_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Re-enable an endpoint an operator has fixed: failures count from zero again."""
    endpoint.is_active = True
    endpoint.consecutive_failures = 0
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.save(
        update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason"]
    )


def disable_endpoint(*, endpoint_id: int, reason: str) -> None:
    """Switch an endpoint off (410 Gone, too many failures); an operator re-enables it."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    logger.warning("webhook endpoint #%s disabled: %s", endpoint_id, reason)


# --- Events ----------------------------------------------------------------------


def order_payload(order) -> dict:
    """The `data.order` of an order event: a snapshot as of the event."""
    return {
        "id": str(order.public_id),
        "number": order.number,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "cancel_reason": order.cancel_reason,
        "created_at": order.created_at.isoformat(),
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
            }
            for item in order.items.all()
        ],
    }


def _create_deliveries(*, endpoints, event_type: str, data: dict, order=None, reference=""):
    """One delivery per endpoint, dispatched once the current transaction commits."""
    endpoints = list(endpoints)
    if not endpoints:
        return []
    event_id = f"msg_{uuid.uuid4().hex}"
    payload = {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data}
    lease_until = timezone.now() + timedelta(seconds=DISPATCH_LEASE_SECONDS)
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                order=order,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=lease_until,  # the outbox publishes it; beat is the fallback
            )
            for endpoint in endpoints
        ]
        publish_on_commit(
            steps.dispatch_webhooks([delivery.pk for delivery in deliveries]), reference=reference
        )
    return deliveries


def emit_order_event(*, order, event_type: str) -> list[WebhookDelivery]:
    """Record `event_type` for `order`: one delivery per active endpoint subscribed to it.

    Call inside the transaction that makes the change: the deliveries commit
    or roll back with it, and are dispatched (webhooks queue) after commit.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    # Filtered in Python: JSON containment lookups are not portable to SQLite.
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True).order_by("pk")
        if event_type in endpoint.event_types
    ]
    return _create_deliveries(
        endpoints=endpoints,
        event_type=event_type,
        data={"order": order_payload(order)} if endpoints else {},
        order=order,
        reference=f"order:{order.public_id}",
    )


def send_test_event(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event to one endpoint, whatever it subscribes to."""
    [delivery] = _create_deliveries(
        endpoints=[endpoint],
        event_type=TEST_EVENT,
        data={"message": "Test event from Orderly", "endpoint": endpoint.pk},
        reference=f"webhook_endpoint:{endpoint.pk}",
    )
    return delivery


def redeliver(*, delivery_ids: list[int]) -> int:
    """Start a new attempt cycle for each delivery (any status); returns how many."""
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
            completed_at=None,
            last_error="",
            next_attempt_at=timezone.now() + timedelta(seconds=DISPATCH_LEASE_SECONDS),
        )
        if count:
            publish_on_commit(steps.dispatch_webhooks(sorted(delivery_ids)), reference="redeliver")
    return count


# --- Dispatching -----------------------------------------------------------------


def _publish_deliveries(rows: list[tuple[int, int]]) -> None:
    # Straight to the broker, not through the outbox: every row still has its
    # due time, so a lost message only waits for dispatch_due_webhooks.
    for delivery_id, attempts in rows:
        steps.deliver_webhook(delivery_id, attempts).apply_async()


def dispatch(*, delivery_ids: list[int]) -> int:
    """Publish one send task per open delivery among `delivery_ids` (lease renewed)."""
    lease_until = timezone.now() + timedelta(seconds=DISPATCH_LEASE_SECONDS)
    with transaction.atomic():
        rows = lock_open_deliveries(delivery_ids=delivery_ids)
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            next_attempt_at=lease_until
        )
    _publish_deliveries(rows)
    return len(rows)


def dispatch_due(*, batch_size: int = 200) -> int:
    """Publish a send task for every open delivery whose next attempt is due (beat)."""
    now = timezone.now()
    with transaction.atomic():
        rows = claim_due_deliveries(due_by=now, limit=batch_size)
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            next_attempt_at=now + timedelta(seconds=DISPATCH_LEASE_SECONDS)
        )
    _publish_deliveries(rows)
    if rows:
        logger.info("dispatched %d due webhook deliveries", len(rows))
    return len(rows)
