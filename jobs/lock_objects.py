"""Row locks for the jobs app's tables, taken one way everywhere.

Every `select_for_update` of this app goes through here (after Saleor's
`order/lock_objects.py`): rows in primary-key order, so two transactions
locking overlapping sets wait for each other instead of deadlocking, and
`of=("self",)`, so a join never locks the joined rows too. Call these
inside `transaction.atomic()`.
"""

from datetime import datetime

from .models import BulkRequeue, DeadLetter, OutboxMessage, PausedQueue


def lock_dead_letter(dead_letter_id: int) -> DeadLetter | None:
    """The dead letter, locked; None if it does not exist."""
    return DeadLetter.objects.select_for_update(of=("self",)).filter(pk=dead_letter_id).first()


def claim_unsent_outbox_rows(*, created_before: datetime, limit: int) -> list[OutboxMessage]:
    """Lock up to `limit` unsent outbox rows older than `created_before`, oldest first.

    SKIP LOCKED: rows another relay holds are passed over, so two relays
    never publish the same row at the same moment. Oldest first is the
    order of work here; each row is claimed once, so no two relays wait on
    each other and the primary-key rule is not needed.
    """
    return list(
        OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sent_at__isnull=True, created_at__lte=created_before)
        .order_by("created_at")
        .only("pk", "signature", "reference", "publish_attempts")[:limit]
    )


def lock_bulk_requeue(bulk_id: int, *, without_ids: bool = False) -> BulkRequeue:
    """The bulk requeue job, locked; `without_ids` skips loading its (long) id list."""
    queryset = BulkRequeue.objects.select_for_update(of=("self",))
    if without_ids:
        queryset = queryset.defer("dead_letter_ids")
    return queryset.get(pk=bulk_id)


def lock_paused_queue(queue: str) -> PausedQueue | None:
    """The pause of `queue`, locked; None when the queue is not paused."""
    return PausedQueue.objects.select_for_update(of=("self",)).filter(queue=queue).first()
