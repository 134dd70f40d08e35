"""Requeueing or resolving every dead letter a filter matches.

A bulk requeue is paced: after an outage, thousands of requeued tasks at
once would hit the partner that just recovered. The dead letters are fixed
when the operator confirms the dry run; a background job requeues them one
by one at the chosen rate through `requeue_dead_letter`, so each is
audited, refused with its reason when it cannot run (the batch goes on),
and never published twice. The job runs in slices that each stay well
inside the task time limits, continuing itself through the outbox.
"""

import logging
import time

from celery import signature
from django.db import transaction
from django.utils import timezone

from ..errors import DeadLetterError
from ..lock_objects import lock_bulk_requeue
from ..models import BulkRequeue, DeadLetter
from .dead_letters import requeue_dead_letter, resolve_dead_letter
from .outbox import publish_on_commit

logger = logging.getLogger(__name__)

# Seconds one slice of the job works before handing over to the next (the
# task's soft time limit is 60 s).
SLICE_SECONDS = 30.0
# Refusal reasons kept on the job (every refusal is also a DeadLetterEvent).
REFUSALS_KEPT = 50
MAX_RATE_PER_SECOND = 500.0


def start_bulk_requeue(
    *, dead_letter_ids: list[int], rate_per_second: float, actor=None, filter_description: str = ""
) -> BulkRequeue:
    """Create the job for these dead letters and publish its first slice after commit.

    Raises DeadLetterError for an empty selection or a rate out of range.
    """
    if not dead_letter_ids:
        raise DeadLetterError("No open dead letter matches this filter; nothing was requeued.")
    if not 0 < rate_per_second <= MAX_RATE_PER_SECOND:
        raise DeadLetterError(f"The rate must be above 0 and at most {MAX_RATE_PER_SECOND:g}/s.")
    with transaction.atomic():
        bulk = BulkRequeue.objects.create(
            dead_letter_ids=sorted(dead_letter_ids),
            rate_per_second=rate_per_second,
            started_by=actor if actor is not None and actor.is_authenticated else None,
            filter_description=filter_description[:1000],
        )
        _publish_slice(bulk)
    logger.warning(
        "bulk requeue #%s of %d dead letter(s) at %g/s started by %s",
        bulk.pk, bulk.total, rate_per_second, actor or "system",
    )  # fmt: skip
    return bulk


def cancel_bulk_requeue(*, bulk_id: int) -> BulkRequeue:
    """Ask a running job to stop before its next requeue. Raises if it is not running."""
    with transaction.atomic():
        bulk = lock_bulk_requeue(bulk_id)
        if bulk.status != BulkRequeue.Status.RUNNING:
            raise DeadLetterError(
                f"Bulk requeue #{bulk.pk} is {bulk.get_status_display().lower()}."
            )
        bulk.cancel_requested = True
        bulk.save(update_fields=["cancel_requested"])
    return bulk


def run_bulk_requeue(*, bulk_id: int, slice_seconds: float = SLICE_SECONDS) -> BulkRequeue:
    """Requeue the job's next dead letters at its pace for one slice, then hand over.

    Idempotent: each step locks the job row and advances `position` in the
    same transaction as the requeue, and requeue_dead_letter refuses a dead
    letter that is no longer open, so a redelivered slice repeats nothing.
    """
    job = BulkRequeue.objects.select_related("started_by").get(pk=bulk_id)
    # Fixed when the job was created: read once, not on every step.
    ids, actor, interval = job.dead_letter_ids, job.started_by, 1.0 / job.rate_per_second
    deadline = time.monotonic() + slice_seconds
    next_step = time.monotonic()
    while True:
        pause = next_step - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with transaction.atomic():
            bulk = lock_bulk_requeue(bulk_id, without_ids=True)
            if bulk.status != BulkRequeue.Status.RUNNING:
                return bulk
            if bulk.cancel_requested or bulk.position >= len(ids):
                return _finish(bulk)
            if time.monotonic() >= deadline:
                _publish_slice(bulk)
                return bulk
            _step(bulk, ids[bulk.position], actor)
        # Never faster than the rate; a slow step does not earn a burst after it.
        next_step = max(next_step + interval, time.monotonic())


def resolve_matching(*, dead_letter_ids: list[int], actor=None, note: str = "") -> int:
    """Resolve each of these dead letters with the note; returns how many were resolved.

    Each is audited by resolve_dead_letter; one already resolved is skipped.
    """
    if not dead_letter_ids:
        raise DeadLetterError("No dead letter matches this filter; nothing was resolved.")
    resolved = 0
    for dead_letter_id in sorted(dead_letter_ids):
        try:
            resolve_dead_letter(dead_letter_id=dead_letter_id, actor=actor, note=note)
        except (DeadLetterError, DeadLetter.DoesNotExist):
            continue
        resolved += 1
    return resolved


def _step(bulk: BulkRequeue, dead_letter_id: int, actor) -> None:
    if bulk.first_step_at is None:
        bulk.first_step_at = timezone.now()
    try:
        requeue_dead_letter(dead_letter_id=dead_letter_id, actor=actor)
    except DeadLetterError as refusal:
        _refused(bulk, dead_letter_id, str(refusal))
    except DeadLetter.DoesNotExist:
        _refused(bulk, dead_letter_id, "it was deleted")
    else:
        bulk.requeued += 1
    bulk.position += 1
    bulk.save(update_fields=["first_step_at", "position", "requeued", "refused", "refusals"])


def _refused(bulk: BulkRequeue, dead_letter_id: int, reason: str) -> None:
    bulk.refused += 1
    if len(bulk.refusals) < REFUSALS_KEPT:
        bulk.refusals = [*bulk.refusals, f"#{dead_letter_id}: {reason}"]


def _finish(bulk: BulkRequeue) -> BulkRequeue:
    cancelled = bulk.cancel_requested and bulk.position < bulk.total
    bulk.status = BulkRequeue.Status.CANCELLED if cancelled else BulkRequeue.Status.DONE
    bulk.finished_at = timezone.now()
    bulk.save(update_fields=["status", "finished_at"])
    logger.warning(
        "bulk requeue #%s %s: %d requeued, %d refused of %d",
        bulk.pk, bulk.status, bulk.requeued, bulk.refused, bulk.total,
    )  # fmt: skip
    return bulk


def _publish_slice(bulk: BulkRequeue) -> None:
    publish_on_commit(
        signature("jobs.run_bulk_requeue", args=(bulk.pk,)), reference=f"bulk_requeue:{bulk.pk}"
    )
