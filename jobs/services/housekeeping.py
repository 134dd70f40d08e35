"""Deleting what the task machinery leaves behind once nobody needs it."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_celery_results.models import GroupResult, TaskResult

from ..models import DeadLetter, OutboxMessage, TaskAttempt

logger = logging.getLogger(__name__)

# Rows are deleted in batches: one huge DELETE would hold its locks (and, on
# SQLite, the whole database) for as long as it takes.
BATCH_SIZE = 2000


def purge_old_records() -> dict[str, int]:
    """Delete old task results, sent outbox rows and resolved dead letters.

    - task and group results (django-celery-results) finished, and task
      attempts (the order timeline's task runs) started, more than
      ORDERLY_TASK_RESULT_RETENTION_DAYS ago;
    - outbox rows sent more than ORDERLY_OUTBOX_RETENTION_DAYS ago (unsent
      rows are never deleted: the relay still owes them a publish);
    - dead letters resolved more than ORDERLY_DEAD_LETTER_RETENTION_DAYS ago
      (open and requeued ones are kept, however old).

    Idempotent: a second run finds nothing more to delete. Returns how many
    rows of each kind went (the task's result).
    """
    now = timezone.now()
    results_cutoff = now - timedelta(days=settings.ORDERLY_TASK_RESULT_RETENTION_DAYS)
    outbox_cutoff = now - timedelta(days=settings.ORDERLY_OUTBOX_RETENTION_DAYS)
    dead_letter_cutoff = now - timedelta(days=settings.ORDERLY_DEAD_LETTER_RETENTION_DAYS)
    purged = {
        "task_results": _delete_in_batches(TaskResult.objects.filter(date_done__lt=results_cutoff)),
        "group_results": _delete_in_batches(
            GroupResult.objects.filter(date_done__lt=results_cutoff)
        ),
        "task_attempts": _delete_in_batches(
            TaskAttempt.objects.filter(started_at__lt=results_cutoff)
        ),
        "outbox_messages": _delete_in_batches(
            OutboxMessage.objects.filter(sent_at__lt=outbox_cutoff)
        ),
        "dead_letters": _delete_in_batches(
            DeadLetter.objects.filter(status=DeadLetter.Status.RESOLVED).filter(
                Q(acted_at__lt=dead_letter_cutoff)
                | Q(acted_at__isnull=True, last_failed_at__lt=dead_letter_cutoff)
            )
        ),
    }
    logger.info("purged old records: %s", purged)
    return purged


def _delete_in_batches(queryset: QuerySet) -> int:
    """Delete every row of `queryset`, BATCH_SIZE primary keys at a time; return how many."""
    model = queryset.model
    deleted = 0
    while True:
        batch = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not batch:
            return deleted
        # Counts only the model's own rows, not cascaded ones (dead letter events).
        model.objects.filter(pk__in=batch).delete()
        deleted += len(batch)
