"""Per-task counters and histograms, recorded by Celery signals where each event happens.

"sent" is counted in the process that publishes (gunicorn worker, Celery
pool process, beat); started, succeeded, retried, failed and the two
histograms in the pool process that runs the task. Every one of these
processes writes its values to files under PROMETHEUS_MULTIPROC_DIR
(prometheus_client's multiprocess mode), and /metrics adds them up, so the
numbers are right however many processes there are. See
docs/observability.md, "How workers export", for why this and not an events collector.

Labels are task names and queue names only, both from code and settings:
a name that is neither a registered task nor a configured queue is counted
as "other", so nothing a shopper types can become a label value.
"""

import contextlib
import logging
import time
from datetime import datetime
from functools import lru_cache

from celery import current_app as celery_app
from celery import signals, states
from django.conf import settings
from prometheus_client import Counter, Histogram

from jobs.rabbitmq import queue_of_delivery

from . import metric_files  # noqa: F401 (names this process's metric files first)

logger = logging.getLogger(__name__)

# Unix time of the publish, in every message's headers. Neither Redis nor
# RabbitMQ keeps one, and the queue-age gauge and queue-wait histogram need it.
PUBLISHED_AT_HEADER = "orderly_published_at"
OTHER = "other"
LABELS = ("task", "queue")

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

SENT = Counter("orderly_task_sent", "Tasks published (first publish; retries not counted).", LABELS)
STARTED = Counter("orderly_task_started", "Tasks a worker started (each attempt).", LABELS)
SUCCEEDED = Counter("orderly_task_succeeded", "Task attempts that succeeded.", LABELS)
RETRIED = Counter("orderly_task_retried", "Task attempts that failed and were retried.", LABELS)
FAILED = Counter("orderly_task_failed", "Tasks that failed for good.", LABELS)
DEAD_LETTERED = Counter("orderly_task_dead_lettered", "Dead letters written.", LABELS)
RUNTIME = Histogram(
    "orderly_task_runtime_seconds", "Time a task attempt ran, any outcome.", LABELS, buckets=SECONDS
)
QUEUE_WAIT = Histogram(
    "orderly_task_queue_wait_seconds",
    "Time from publish (or a retry's ETA) until a worker started the task.",
    LABELS,
    buckets=SECONDS,
)

_started_at: dict[str, float] = {}  # task id -> monotonic start, in this pool process


@lru_cache(maxsize=1)
def _discover_tasks() -> None:
    # A web process may not have imported the apps' tasks modules yet. Not
    # loader.import_default_modules(): that runs django.setup() again, and
    # in a worker its logging setup would replace Celery's log handlers.
    celery_app.autodiscover_tasks(force=True)


def task_label(name: str | None) -> str:
    """The task's name if it is a registered task, else "other" (bounded)."""
    if not name:
        return OTHER
    _discover_tasks()
    return name if name in celery_app.tasks else OTHER


def queue_label(queue: str | None) -> str:
    return queue if queue in settings.ORDERLY_QUEUES else OTHER


def labels(task_name: str | None, queue: str | None) -> tuple[str, str]:
    return task_label(task_name), queue_label(queue)


def request_queue(request) -> str:
    return queue_of_delivery(getattr(request, "delivery_info", None))


def request_header(request, name: str):
    """A custom message header: a request attribute, or in request.headers after a retry."""
    return getattr(request, name, None) or (getattr(request, "headers", None) or {}).get(name)


def parse_published_at(value) -> float | None:
    """The publish time from a header; None when missing or not a number."""
    try:
        published = float(value)
    except (TypeError, ValueError):
        return None
    return published if published > 0 else None


def _ready_at(request) -> float | None:
    published = parse_published_at(request_header(request, PUBLISHED_AT_HEADER))
    if published is None:
        return None
    eta = getattr(request, "eta", None)
    if eta:  # a retry's countdown is not time spent waiting for a worker
        with contextlib.suppress(ValueError):
            published = max(published, datetime.fromisoformat(str(eta)).timestamp())
    return published


def on_publish(sender=None, headers=None, routing_key=None, **kwargs):
    """Stamp the publish time on the message; count first publishes as sent."""
    if headers is None:
        return
    headers[PUBLISHED_AT_HEADER] = time.time()
    if not headers.get("retries"):
        SENT.labels(*labels(sender, routing_key)).inc()


def on_prerun(task_id=None, task=None, **kwargs):
    request = task.request
    task_labels = labels(task.name, request_queue(request))
    STARTED.labels(*task_labels).inc()
    ready_at = _ready_at(request)
    if ready_at is not None:
        QUEUE_WAIT.labels(*task_labels).observe(max(0.0, time.time() - ready_at))
    _started_at[task_id] = time.monotonic()


def on_postrun(task_id=None, task=None, state=None, **kwargs):
    task_labels = labels(task.name, request_queue(task.request))
    started = _started_at.pop(task_id, None)
    if started is not None:
        RUNTIME.labels(*task_labels).observe(time.monotonic() - started)
    if state == states.SUCCESS:
        SUCCEEDED.labels(*task_labels).inc()


def on_retry(sender=None, request=None, **kwargs):
    RETRIED.labels(*labels(getattr(sender, "name", None), request_queue(request))).inc()


def on_failure(sender=None, **kwargs):
    FAILED.labels(*labels(getattr(sender, "name", None), request_queue(sender.request))).inc()


def on_dead_letter_saved(sender=None, instance=None, created=False, **kwargs):
    if created:
        DEAD_LETTERED.labels(*labels(instance.task_name, instance.queue)).inc()


def install() -> None:
    """Connect the handlers (from OpsConfig.ready, in every process that loads Django)."""
    from django.db.models.signals import post_save

    from jobs.models import DeadLetter

    signals.before_task_publish.connect(on_publish, dispatch_uid="orderly-metrics-publish")
    signals.task_prerun.connect(on_prerun, dispatch_uid="orderly-metrics-prerun")
    signals.task_postrun.connect(on_postrun, dispatch_uid="orderly-metrics-postrun")
    signals.task_retry.connect(on_retry, dispatch_uid="orderly-metrics-retry")
    signals.task_failure.connect(on_failure, dispatch_uid="orderly-metrics-failure")
    post_save.connect(on_dead_letter_saved, sender=DeadLetter, dispatch_uid="orderly-dead-letter")
