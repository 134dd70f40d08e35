"""Publishing Celery work so that none is lost: the transactional outbox."""

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta

from celery import current_app, signature
from celery.canvas import Signature
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..lock_objects import claim_unsent_outbox_rows
from ..models import OutboxMessage
from .sent_marks import mark_sent, mark_sent_soon

logger = logging.getLogger(__name__)

# Returns a context manager to publish a row in; a higher layer (tracing)
# installs one so a late publish continues the trace that wrote the row.
_publish_context: Callable[[OutboxMessage], AbstractContextManager] = nullcontext


def set_publish_context(factory: Callable[[OutboxMessage], AbstractContextManager]) -> None:
    """Publish every outbox row inside `factory(row)` (jobs knows nothing of tracing)."""
    global _publish_context
    _publish_context = factory


def publish_on_commit(sig: Signature, *, reference: str = "") -> OutboxMessage:
    """Record `sig` in the current transaction and publish it once that commits.

    If the transaction rolls back, nothing is published. If the broker is
    unreachable at commit, the row stays unsent and `relay_outbox` publishes
    it later. Tasks must be idempotent: a crash between publish and marking
    the row sent means the relay publishes it a second time.
    """
    message = OutboxMessage.objects.create(signature=dict(sig), reference=reference)
    # The row in hand is published as is (re-reading it cost a query per order),
    # and marked sent in a batch off the request path (see sent_marks).
    transaction.on_commit(lambda: _send(message) and mark_sent_soon(message.pk))
    return message


def _send(message: OutboxMessage, producer=None) -> bool:
    """Publish one row's signature; on failure record why and return False."""
    if producer is None:
        with current_app.producer_or_acquire() as producer:
            return _send(message, producer)
    try:
        # retry=False: fail fast when the broker is down; the relay retries.
        # A confirm that does not come in time is a failure too: without the
        # timeout a publish (and the relay's row locks) could wait forever.
        with _publish_context(message):
            signature(message.signature).apply_async(
                retry=False,
                producer=producer,
                confirm_timeout=settings.ORDERLY_PUBLISH_CONFIRM_TIMEOUT_SECONDS,
            )
    except Exception as exc:  # any broker/transport failure leaves the row for the relay
        # Dropped, not closed: a graceful close (what the producer pool does
        # after an error) waits for the broker's close-ok, which a broker that
        # left the confirm unanswered may never send. A late confirm on this
        # connection would also be taken for the next publish's. The next
        # publish opens a fresh connection.
        producer.connection.collect()
        logger.warning("outbox #%s (%s) not published: %r", message.pk, message.reference, exc)
        OutboxMessage.objects.filter(pk=message.pk).update(
            publish_attempts=message.publish_attempts + 1, last_error=repr(exc)[:2000]
        )
        return False
    return True


def relay_outbox(
    *, grace_seconds: int | None = None, batch_size: int = 500, time_budget: float = 30.0
) -> int:
    """Publish outbox rows left unsent for longer than the grace period.

    Works through the backlog a batch at a time until it is empty, the broker
    fails, or `time_budget` seconds have passed (beat starts the next run).
    Returns how many were published. Rows are claimed with SKIP LOCKED so two
    relays never publish the same row at the same moment, and each batch is
    marked sent with one UPDATE before its locks are released.
    """
    if grace_seconds is None:
        grace_seconds = settings.ORDERLY_OUTBOX_GRACE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    deadline = time.monotonic() + time_budget
    published = 0
    while True:
        # One producer (one broker connection) for the whole batch.
        with transaction.atomic(), current_app.producer_or_acquire() as producer:
            rows = claim_unsent_outbox_rows(created_before=cutoff, limit=batch_size)
            sent = []
            for row in rows:
                if not _send(row, producer):
                    break  # the broker is down: the rest would fail the same way
                sent.append(row.pk)
            mark_sent(sent)
        published += len(sent)
        if len(sent) < batch_size or time.monotonic() > deadline:
            break
    if published:
        logger.info("outbox relay published %d stranded message(s)", published)
    return published
