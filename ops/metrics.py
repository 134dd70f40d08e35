"""/metrics for Prometheus: queues, tasks, dead letters, the outbox, beat, checkout to done.

Each scrape builds a fresh registry from three sources, so every gunicorn
process answers the same:
- the database (dead letters, outbox, schedules) and the broker (queue depth,
  oldest message), read now; consumers from the workers' last answer
  (ops.worker_facts, refreshed in the background, its age a gauge);
- the task counters and histograms every process wrote under
  PROMETHEUS_MULTIPROC_DIR (ops.task_metrics, ops.order_metrics), added up.

Label values come from code and settings (task and queue names, exception
class names, schedule names operators set in admin), never from shopper input.
"""

import hmac
import logging

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from jobs.models import DeadLetter, OutboxMessage, PausedQueue

from . import worker_facts
from .queues import queue_states
from .schedules import enabled_schedule_statuses
from .task_metrics import OTHER, task_label

logger = logging.getLogger(__name__)

# (task, exception class) pairs shown, most open first; the rest count as "other".
MAX_EXCEPTION_CLASSES = 20


def metrics_allowed(request) -> bool:
    """A staff user's session, or `Authorization: Bearer <ORDERLY_METRICS_TOKEN>`."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.ORDERLY_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    )


class DatabaseCollector:
    """Work that waits in the database: dead letters, unsent outbox rows, schedules."""

    def collect(self):
        yield self._dead_letters()
        yield from self._outbox()
        yield from self._schedules()

    def _dead_letters(self):
        family = GaugeMetricFamily(
            "orderly_dead_letters_open",
            "Tasks that failed for good and wait for an operator, by task and exception class.",
            labels=["task", "exception"],
        )
        rows = (
            DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)
            .values("task_name", "exception_class")
            .annotate(count=Count("pk"))
            .order_by("-count")
        )
        totals: dict[tuple[str, str], int] = {}
        for index, row in enumerate(rows):
            exception = row["exception_class"][:100] if index < MAX_EXCEPTION_CLASSES else OTHER
            key = (task_label(row["task_name"]), exception)
            totals[key] = totals.get(key, 0) + row["count"]
        for key, count in totals.items():
            family.add_metric(list(key), count)
        return family

    def _outbox(self):
        unsent = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "orderly_outbox_unsent",
            "Outbox messages committed but not yet published to the broker.",
            value=unsent["count"],
        )
        age = (timezone.now() - unsent["oldest"]).total_seconds() if unsent["oldest"] else 0
        yield GaugeMetricFamily(
            "orderly_outbox_oldest_unsent_age_seconds",
            "Age of the oldest unsent outbox message (0 when none).",
            value=max(0.0, age),
        )

    def _schedules(self):
        last_run = GaugeMetricFamily(
            "orderly_periodic_last_run_timestamp_seconds",
            "When beat last sent each enabled periodic schedule (Unix time; 0 = never).",
            labels=["schedule"],
        )
        lateness = GaugeMetricFamily(
            "orderly_periodic_lateness_seconds",
            "How far past its due time each enabled periodic schedule is (0 = on time).",
            labels=["schedule"],
        )
        for status in enabled_schedule_statuses():
            name = status.name[:100]
            last_run.add_metric([name], status.last_run_at.timestamp() if status.last_run_at else 0)
            lateness.add_metric([name], status.lateness_seconds)
        yield last_run
        yield lateness


class BrokerCollector:
    """Each queue's depth, oldest message and consumers, asked of the broker per scrape."""

    def collect(self):
        up = GaugeMetricFamily("orderly_broker_up", "1 when the broker answered this scrape.")
        depth = GaugeMetricFamily(
            "orderly_queue_depth", "Messages waiting in the queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "orderly_queue_oldest_message_age_seconds",
            "How long the oldest waiting message has waited (0 when empty).",
            labels=["queue"],
        )
        consumers = GaugeMetricFamily(
            "orderly_queue_consumers", "Workers that consume the queue.", labels=["queue"]
        )
        broker_url = settings.ORDERLY_READINESS_BROKER_URL or None
        try:
            states = queue_states(broker_url=broker_url)
        except Exception as error:  # the broker is down: say so, and keep the other series
            logger.warning("metrics: broker not readable: %r", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for queue, state in states.items():
            depth.add_metric([queue], state.depth)
            age.add_metric([queue], state.oldest_age_seconds)
        # The workers' last answer, never waited for (ops.worker_facts), with its age.
        facts = worker_facts.cache.current(broker_url)
        for queue in settings.ORDERLY_QUEUES:
            consumers.add_metric([queue], len(facts.consumers.get(queue, [])))
        facts_age = GaugeMetricFamily(
            "orderly_worker_facts_age_seconds",
            "How long ago the workers were last asked which queues they consume.",
            value=facts.age_seconds(),
        )
        yield from (up, depth, age, consumers, facts_age)


def render_metrics() -> tuple[bytes, str]:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    registry.register(BrokerCollector())
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    paused = Gauge(
        "orderly_queue_paused",
        "1 while an operator has paused the queue (its messages wait), else 0.",
        ["queue"],
        registry=registry,
    )
    paused_names = set(PausedQueue.objects.values_list("queue", flat=True))
    for queue in settings.ORDERLY_QUEUES:
        paused.labels(queue=queue).set(1 if queue in paused_names else 0)
    return generate_latest(registry), CONTENT_TYPE_LATEST
