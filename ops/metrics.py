"""Application gauges for Prometheus: work that waits for an operator or a relay.

Flower exports per-task counters and latencies at its own /metrics; these
are the numbers only the database knows. A fresh registry per scrape keeps
the values exact in every gunicorn process (no shared state to go stale).
"""

import hmac

from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from jobs.models import DeadLetter, OutboxMessage


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


def render_metrics() -> tuple[bytes, str]:
    registry = CollectorRegistry()
    Gauge(
        "orderly_dead_letters_open",
        "Tasks that failed for good and wait for an operator.",
        registry=registry,
    ).set(DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).count())
    Gauge(
        "orderly_outbox_unsent",
        "Outbox messages committed but not yet published to the broker.",
        registry=registry,
    ).set(OutboxMessage.objects.filter(sent_at__isnull=True).count())
    return generate_latest(registry), CONTENT_TYPE_LATEST
