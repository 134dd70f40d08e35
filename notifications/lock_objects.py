"""Row locks for the notifications app's tables, taken one way everywhere.

Every `select_for_update` of this app goes through here (after Saleor's
`order/lock_objects.py`): rows in primary-key order (or claimed with SKIP
LOCKED, which never waits), and `of=("self",)` so that loading a delivery's
endpoint does not lock the endpoint too. Call these inside
`transaction.atomic()`.
"""

from datetime import datetime

from .models import WebhookDelivery, WebhookEndpoint

OPEN_STATUSES = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)


def lock_delivery(delivery_id: int) -> WebhookDelivery | None:
    """The delivery (with its endpoint loaded, not locked), locked; None if gone."""
    return (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )


def lock_open_deliveries(*, delivery_ids: list[int]) -> list[tuple[int, int]]:
    """(pk, attempts) of the open deliveries among `delivery_ids`, locked in pk order."""
    return list(
        WebhookDelivery.objects.select_for_update(of=("self",))
        .filter(pk__in=delivery_ids, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", "attempts")
    )


def claim_due_deliveries(*, due_by: datetime, limit: int) -> list[tuple[int, int]]:
    """(pk, attempts) of up to `limit` open deliveries due by `due_by`, soonest first.

    SKIP LOCKED: rows another dispatcher holds are passed over, never waited on.
    """
    return list(
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=OPEN_STATUSES, next_attempt_at__lte=due_by)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "attempts")[:limit]
    )


def lock_endpoint(endpoint_id: int) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update(of=("self",)).get(pk=endpoint_id)
