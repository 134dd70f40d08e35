"""Publishing Celery work so that none is lost: the transactional outbox."""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from celery import signature
from celery.canvas import Signature
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

_publishing_disabled: ContextVar[bool] = ContextVar("orderly_publishing_disabled", default=False)


@contextmanager
def publishing_disabled():
    """Within this block publish_on_commit records and publishes nothing.

    For the benchmarks only: the "floor" and "inline" checkout variants
    (orders.checkout_variants) measure the same database writes without
    enqueueing. Nothing in the shop itself uses it.
    """
    token = _publishing_disabled.set(True)
    try:
        yield
    finally:
        _publishing_disabled.reset(token)


def publish_on_commit(sig: Signature, *, reference: str = "") -> OutboxMessage | None:
    """Record `sig` in the current transaction and publish it once that commits.

    If the transaction rolls back, nothing is published. If the broker is
    unreachable at commit, the row stays unsent and `relay_outbox` publishes
    it later. Tasks must be idempotent: a crash between publish and marking
    the row sent means the relay publishes it a second time.
    """
    if _publishing_disabled.get():
        return None
    message = OutboxMessage.objects.create(signature=dict(sig), reference=reference)
    # The row in hand is published as is: re-reading it cost a query per order.
    transaction.on_commit(lambda: _publish(message))
    return message


def publish_message(*, message_id: int) -> bool:
    """Publish one outbox row if it is still unsent; True when it was sent now."""
    message = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).first()
    if message is None:
        return False
    return _publish(message)


def _publish(message: OutboxMessage) -> bool:
    try:
        # retry=False: fail fast when the broker is down; the relay retries.
        signature(message.signature).apply_async(retry=False)
    except Exception as exc:  # any broker/transport failure leaves the row for the relay
        logger.warning("outbox #%s (%s) not published: %r", message.pk, message.reference, exc)
        OutboxMessage.objects.filter(pk=message.pk).update(
            publish_attempts=message.publish_attempts + 1, last_error=repr(exc)[:2000]
        )
        return False
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Losing this write in a crash only means the relay publishes the
            # row again (tasks are idempotent), so it need not wait for a WAL
            # flush: that flush was most of the publishing cost per order.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
            sent_at=timezone.now(), publish_attempts=message.publish_attempts + 1, last_error=""
        )
    return True


def relay_outbox(*, grace_seconds: int | None = None, batch_size: int = 100) -> int:
    """Publish outbox rows left unsent for longer than the grace period.

    Returns how many were published. Rows are claimed with SKIP LOCKED so two
    relays never publish the same row at the same moment.
    """
    if grace_seconds is None:
        grace_seconds = settings.ORDERLY_OUTBOX_GRACE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    published = 0
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, created_at__lte=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        for message_id in ids:
            published += publish_message(message_id=message_id)
    if published:
        logger.info("outbox relay published %d stranded message(s)", published)
    return published
