"""The database notices what the broker lost: overdue pipeline steps are published again.

The database is the record of every order; the broker only carries the
next step. A broker can lose a message after the outbox marked it sent: a
Redis failover (replication is asynchronous), a flushed Redis, a deleted
queue. Each app registers a *finder* (in its AppConfig.ready) that names the
steps of its own that should have run by now and did not: no attempt, no
final state, older than `overdue_after()`. A periodic job publishes each
again through the outbox. Tasks are idempotent, so a step that was only
slow costs a duplicate that does nothing, never a second effect.

"Should have run by now" is derived from the timer order (project/settings.py):
a message a worker holds unacknowledged (running, or waiting for its retry
countdown) comes back within the visibility timeout, and a running task
ends within its hard time limit. A step with no attempt for longer than
both, plus the outbox's own grace, was lost. Three more guards leave a step
alone:

- its queue still has messages waiting (it may be behind the others);
- its queue is paused by an operator;
- Redis still holds its message as delivered but unacknowledged. Redis's
  clock for giving back a dead worker's message starts when a worker took
  it, not when the step was due, so a message that waited behind others
  comes back after the bound above. It is not lost: published again, it
  would run as a second message beside the one Redis gives back.
  (RabbitMQ gives such messages back as soon as the connection drops.)
"""

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from celery import current_app
from celery.canvas import Signature
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import PausedQueue
from .outbox import publish_on_commit

logger = logging.getLogger(__name__)

# finder(stale_before) -> (signature, reference, why) of each overdue step
Finder = Callable[[datetime], Iterable[tuple[Signature, str, str]]]
_finders: dict[str, Finder] = {}
# At most this many steps are published again per run (the next run takes the rest).
BATCH = 200


def register_finder(name: str, finder: Finder) -> None:
    """Make the sweep ask `finder` for overdue steps (an app's AppConfig.ready calls this)."""
    _finders[name] = finder


def overdue_after() -> timedelta:
    """How long a step may go without an attempt before its message counts as lost."""
    return timedelta(
        seconds=settings.CELERY_VISIBILITY_TIMEOUT
        + settings.CELERY_TASK_TIME_LIMIT
        + settings.ORDERLY_OUTBOX_GRACE_SECONDS
    )


def queue_of(signature: Signature) -> str:
    """The queue CELERY_TASK_ROUTES sends this task to."""
    route = current_app.amqp.router.route(dict(signature.options), signature.task)
    return route["queue"].name


def waiting_messages(queues: Iterable[str]) -> dict[str, int]:
    """How many messages wait in each queue (Redis: every priority list; AMQP: passive declare)."""
    with current_app.connection_for_read() as connection:
        channel = connection.default_channel
        if connection.transport.driver_type == "redis":
            return {
                queue: sum(
                    channel.client.llen(channel._q_for_pri(queue, priority))
                    for priority in channel.priority_steps
                )
                for queue in queues
            }
        return {queue: channel.queue_declare(queue=queue, passive=True)[1] for queue in queues}


def unacknowledged_steps() -> set[tuple[str, tuple]]:
    """(task name, args) of every message Redis holds as delivered but not acknowledged.

    Running, reserved by a worker, waiting for a retry's countdown, or left by
    a worker that died (given back once older than the visibility timeout).
    Empty on RabbitMQ, which keeps no such record a client can read.
    """
    with current_app.connection_for_read() as connection:
        if connection.transport.driver_type != "redis":
            return set()
        channel = connection.default_channel
        held = set()
        for raw in channel.client.hvals(channel.unacked_key):
            try:
                payload, _exchange, _routing_key = json.loads(raw)
                message = channel.Message(payload, channel=channel)
                args, _kwargs, _embed = message.decode()  # Celery's message protocol 2
                held.add((message.headers["task"], tuple(args)))
            except (ValueError, KeyError, TypeError):
                continue  # not a Celery task message: nothing the sweep publishes
        return held


def republish_overdue_steps(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic job: publish every overdue step again. Returns counts by outcome."""
    stale_before = (now or timezone.now()) - overdue_after()
    found = [
        (signature, reference, why)
        for finder in _finders.values()
        for signature, reference, why in finder(stale_before)
    ][:BATCH]
    if not found:
        return {}
    queues = {queue_of(signature) for signature, _, _ in found}
    paused = set(PausedQueue.objects.filter(queue__in=queues).values_list("queue", flat=True))
    waiting = waiting_messages(queues - paused)
    held = unacknowledged_steps()
    counts: dict[str, int] = {}
    for signature, reference, why in found:
        queue = queue_of(signature)
        if queue in paused:
            outcome = "queue paused"
        elif waiting.get(queue):
            outcome = "queue has messages waiting"
        elif (signature.task, tuple(signature.args)) in held:
            outcome = "message held unacknowledged"
        else:
            with transaction.atomic():
                publish_on_commit(signature, reference=reference)
            logger.warning(
                "%s %s: published again, its message was lost (%s)", signature.task, reference, why
            )
            outcome = "published again"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
