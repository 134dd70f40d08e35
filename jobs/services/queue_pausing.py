"""Pausing a queue: every worker that serves it stops taking its messages until resumed.

Celery's `cancel_consumer` / `add_consumer` control commands do the work on
the running workers. The pause itself is a database row (jobs.PausedQueue),
so it outlives the workers: a worker that starts while its queue is paused
cancels that consumer before its event loop takes the first message.
Messages wait in the broker meanwhile; nothing is lost or dead-lettered.
"""

import logging
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connections, transaction

from ..errors import QueuePauseError
from ..lock_objects import lock_paused_queue
from ..models import PausedQueue, QueueEvent

logger = logging.getLogger(__name__)

# Seconds to wait for workers to answer a control command.
CONTROL_TIMEOUT = 1.0


@dataclass
class QueueChange:
    """What a pause or resume reached: the workers that acknowledged it."""

    queue: str
    workers: list[str]

    @property
    def message(self) -> str:
        return ", ".join(self.workers) if self.workers else ""


def workers_consuming(timeout: float = CONTROL_TIMEOUT) -> dict[str, list[str]]:
    """Each known queue and the workers consuming it now (asked over the broker)."""
    replies = current_app.control.inspect(timeout=timeout).active_queues() or {}
    consumers: dict[str, list[str]] = {queue: [] for queue in settings.ORDERLY_QUEUES}
    for worker, queues in replies.items():
        for queue in queues or []:
            consumers.setdefault(queue.get("name"), []).append(worker)
    return {queue: sorted(workers) for queue, workers in consumers.items()}


def paused_queues() -> dict[str, PausedQueue]:
    return {row.queue: row for row in PausedQueue.objects.select_related("paused_by")}


def pause_queue(*, queue: str, actor=None, note: str = "") -> QueueChange:
    """Stop every worker consuming `queue`, now and after restarts, until resumed.

    The row is written before the workers are told, so a worker starting in
    between finds it. Audited as a QueueEvent. Raises QueuePauseError for an
    unknown or already paused queue. When no worker serves the queue the
    pause is still recorded (a worker that starts later stays off it) and
    the returned change names no worker.
    """
    _check_known(queue)
    try:
        with transaction.atomic():
            row = PausedQueue.objects.create(queue=queue, paused_by=_user(actor), note=note)
    except IntegrityError as error:
        raise QueuePauseError(f"Queue {queue!r} is already paused.") from error
    serving = workers_consuming().get(queue, [])
    row.refresh_from_db(fields=["workers"])  # a worker starting meanwhile added itself
    row.workers = sorted({*row.workers, *serving})
    row.save(update_fields=["workers"])
    return _tell_and_audit(
        queue, "cancel_consumer", serving, action=QueueEvent.Action.PAUSED, actor=actor,
        reached="cancelled on",
        nobody="no worker serves this queue now; workers that start will not consume it",
    )  # fmt: skip


def resume_queue(*, queue: str, actor=None) -> QueueChange:
    """Let the workers that served `queue` consume it again; audited. Raises if not paused."""
    _check_known(queue)
    with transaction.atomic():
        row = lock_paused_queue(queue)
        if row is None:
            raise QueuePauseError(f"Queue {queue!r} is not paused.")
        workers = list(row.workers)
        row.delete()  # first, so a worker starting now consumes it
    return _tell_and_audit(
        queue, "add_consumer", workers, action=QueueEvent.Action.RESUMED, actor=actor,
        reached="consuming again on",
        nobody="no worker that served it answered; workers that start will consume it",
    )  # fmt: skip


def cancel_paused_queues_at_worker_start(sender, **kwargs):
    """worker_ready: stop consuming every paused queue before the first message is taken.

    Celery sends worker_ready just before the consumer's event loop starts,
    so no message of a paused queue reaches this worker. The worker is added
    to the pause, so resuming reaches it. Its connection is closed again so
    that no pool child forked later inherits it.
    """
    consumer = sender
    try:
        consuming = set(consumer.app.amqp.queues.consume_from)
        for row in PausedQueue.objects.filter(queue__in=consuming):
            consumer.cancel_task_queue(row.queue)
            if consumer.hostname not in row.workers:
                row.workers = sorted({*row.workers, consumer.hostname})
                row.save(update_fields=["workers"])
            logger.warning(
                "queue %s is paused: %s does not consume it", row.queue, consumer.hostname
            )
    finally:
        connections.close_all()


def _tell_and_audit(queue, command, workers, *, action, actor, reached, nobody) -> QueueChange:
    """Send the control command to these workers and record who acknowledged it."""
    acknowledged = _broadcast(command, queue, workers)
    detail = f"{reached} {', '.join(acknowledged)}" if acknowledged else nobody
    QueueEvent.objects.create(queue=queue, action=action, actor=_user(actor), detail=detail)
    logger.warning("queue %s %s by %s: %s", queue, action, actor or "system", detail)
    return QueueChange(queue=queue, workers=acknowledged)


def _broadcast(command: str, queue: str, workers: list[str]) -> list[str]:
    if not workers:
        return []
    replies = (
        current_app.control.broadcast(
            command,
            arguments={"queue": queue},
            destination=workers,
            reply=True,
            timeout=CONTROL_TIMEOUT,
        )
        or []
    )
    return sorted(name for reply in replies for name, answer in reply.items() if "ok" in answer)


def _check_known(queue: str) -> None:
    if queue not in settings.ORDERLY_QUEUES:
        known = ", ".join(settings.ORDERLY_QUEUES)
        raise QueuePauseError(f"Unknown queue {queue!r}; the queues are: {known}.")


def _user(actor):
    return actor if actor is not None and actor.is_authenticated else None
