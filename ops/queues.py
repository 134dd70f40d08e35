"""What waits in each broker queue: how many messages, and how long the oldest has waited.

Neither Redis nor RabbitMQ records when a message was published, so every
message carries the publish time in a header (ops.task_metrics stamps it).

- Redis (kombu): a queue is a list per priority step; the oldest message is
  the last element of each list, read with LINDEX without taking it.
- RabbitMQ (AMQP): the depth comes from a passive queue declare; the oldest
  message is fetched unacknowledged and put straight back (basic_get, then
  reject with requeue), which RabbitMQ returns to the head of the queue.
"""

import json
import time
from dataclasses import dataclass

from celery import current_app as celery_app
from django.conf import settings

from .task_metrics import PUBLISHED_AT_HEADER, parse_published_at


@dataclass(frozen=True)
class QueueState:
    depth: int
    oldest_age_seconds: float  # 0 when empty or when no message says when it was published


def _age(published_at: float | None, now: float) -> float:
    return max(0.0, now - published_at) if published_at else 0.0


def _redis_queue(channel, queue: str, now: float) -> QueueState:
    client = channel.client
    depth, oldest = 0, None
    for priority in channel.priority_steps:
        key = channel._q_for_pri(queue, priority)
        depth += client.llen(key)
        raw = client.lindex(key, -1)
        if raw is None:
            continue
        try:
            headers = json.loads(raw).get("headers") or {}
        except (ValueError, AttributeError):
            continue
        published = parse_published_at(headers.get(PUBLISHED_AT_HEADER))
        if published and (oldest is None or published < oldest):
            oldest = published
    return QueueState(depth=depth, oldest_age_seconds=_age(oldest, now))


def _amqp_queue(channel, queue: str, now: float) -> QueueState:
    _, depth, _ = channel.queue_declare(queue=queue, passive=True)
    published = None
    if depth:
        message = channel.basic_get(queue=queue, no_ack=False)
        if message is not None:
            published = parse_published_at((message.headers or {}).get(PUBLISHED_AT_HEADER))
            channel.basic_reject(message.delivery_tag, requeue=True)
    return QueueState(depth=depth, oldest_age_seconds=_age(published, now))


def queue_states(*, broker_url: str | None = None, queues=None) -> dict[str, QueueState]:
    """Depth and oldest-message age of each queue (every one in ORDERLY_QUEUES by default)."""
    now = time.time()
    with celery_app.connection_for_read(
        url=broker_url, connect_timeout=settings.ORDERLY_READINESS_TIMEOUT
    ) as conn:
        channel = conn.default_channel
        read = _redis_queue if conn.transport.driver_type == "redis" else _amqp_queue
        return {queue: read(channel, queue, now) for queue in queues or settings.ORDERLY_QUEUES}
