"""Recording each run of a task that works on a business object (jobs.TaskAttempt).

A django-celery-results row keeps only a task's last state: a retried task
overwrites its failures with its final success. The operator's timeline
needs every run, so the worker writes one small row when a run ends: one
INSERT per run, and only for tasks that declare `business_object` (the
benchmark's no-op throughput measures its cost; see docs/operators-guide.md,
"What happened to order ORD-000131?").
"""

import logging
import time

from celery.signals import task_failure, task_postrun, task_prerun, task_retry
from django.utils import timezone

from ..models import TaskAttempt
from ..rabbitmq import queue_of_delivery

logger = logging.getLogger(__name__)

_OUTCOMES = {
    "SUCCESS": TaskAttempt.Outcome.SUCCEEDED,
    "RETRY": TaskAttempt.Outcome.RETRYING,
    "FAILURE": TaskAttempt.Outcome.FAILED,
}


def business_key(model_label: str | None, args) -> str:
    """ "orders.order:12" for a task whose first argument is the pk of an orders.Order."""
    if not model_label or not args:
        return ""
    return f"{model_label.lower()}:{args[0]}"


def connect() -> None:
    """Connect the recorder to Celery's task signals (from JobsConfig.ready)."""
    task_prerun.connect(_started, weak=False)
    task_retry.connect(_retrying, weak=False)
    task_failure.connect(_failed, weak=False)
    task_postrun.connect(_finished, weak=False)


def _recorded(task) -> bool:
    return bool(getattr(task, "business_object", None)) and not task.request.is_eager


def _started(task=None, **kwargs):
    if task is not None and _recorded(task):
        task.request.orderly_attempt_started = (timezone.now(), time.monotonic())


def _retrying(sender=None, request=None, reason=None, **kwargs):
    if request is not None:
        request.orderly_attempt_detail = str(reason)[:5000]


def _failed(sender=None, exception=None, **kwargs):
    if sender is not None and sender.request is not None:
        sender.request.orderly_attempt_detail = f"{type(exception).__name__}: {exception}"[:5000]


def _finished(task=None, task_id=None, args=None, state=None, **kwargs):
    started = getattr(task.request, "orderly_attempt_started", None) if task else None
    if started is None or state not in _OUTCOMES:
        return
    started_at, started_monotonic = started
    try:
        TaskAttempt.objects.create(
            task_id=task_id,
            task_name=task.name,
            business_key=business_key(task.business_object, args),
            queue=queue_of_delivery(task.request.delivery_info),
            worker=task.request.hostname or "",
            retries=task.request.retries or 0,
            started_at=started_at,
            duration_ms=round((time.monotonic() - started_monotonic) * 1000),
            outcome=_OUTCOMES[state],
            detail=getattr(task.request, "orderly_attempt_detail", ""),
        )
    except Exception:  # the record is for people; never fail or retry a task over it
        logger.exception("could not record the attempt of %s[%s]", task.name, task_id)
