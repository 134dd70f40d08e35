"""Tasks that die with their worker process still end in one dead letter.

Two ways a task can die without its own code failing:

- **Hard time limit.** The worker's main process kills the pool child. Since
  Celery 5.7 the main process then calls the task's `on_failure` and sends
  `task_failure` itself (celery.worker.request.Request.on_timeout), and acks
  the message (acks_on_timeout). But it does so outside any task request,
  so the shared base task saw no queue, worker or attempt count.
  OrderlyRequest puts the request's context around that call, so the dead
  letter is as complete as any other.
- **The process dies** (a crash, `os._exit`, the OOM killer; a pool child or
  the main process). With acks_late and reject_on_worker_lost the message
  goes back to the broker and is delivered again, which is right once (a
  deploy, a node lost) and wrong forever. Every redelivery (the broker marks
  it: RabbitMQ natively, kombu's Redis transport when it restores a message)
  is counted in Redis, keyed by task id and retry number, before the task
  runs; a first delivery costs no round trip. Past
  settings.ORDERLY_MAX_DELIVERIES the task is not run again but fails with
  WorkerKeptDying, which the base task dead-letters like any permanent
  failure. A requeue from admin has a new task id, so its count starts afresh.
"""

import logging

from celery.worker.request import Request
from django.conf import settings
from redis.exceptions import RedisError

from . import redis_clients
from .errors import PermanentError

logger = logging.getLogger(__name__)

KEY_PREFIX = "orderly:deliveries:"
# Long enough to outlive every redelivery of one message (each comes within
# a visibility timeout), short enough not to keep keys for finished tasks.
KEY_TTL_SECONDS = 24 * 60 * 60


class WorkerKeptDying(PermanentError):
    """The task's message was delivered more often than allowed: each run killed its worker."""

    def __init__(self, deliveries: int):
        super().__init__(
            f"delivered {deliveries} times: each of the previous {deliveries - 1} deliveries "
            f"ended with its worker process dead (a crash, os._exit, the OOM killer). Not run "
            f"again (ORDERLY_MAX_DELIVERIES={settings.ORDERLY_MAX_DELIVERIES})."
        )
        self.deliveries = deliveries

    def __reduce__(self):  # Celery pickles a task's exception; rebuild it from the count
        return (type(self), (self.deliveries,))


def count_redelivery(task_id: str, retries: int) -> int:
    """Count one more redelivery of this message (task id, retry number); 0 if Redis is down.

    Celery keeps the task id across retries, so each retry is its own
    message with its own count.
    """
    key = f"{KEY_PREFIX}{task_id}:{retries}"
    try:
        client = redis_clients.client(settings.ORDERLY_LOCK_REDIS_URL)
        with client.pipeline() as pipe:
            deliveries, _ = pipe.incr(key).expire(key, KEY_TTL_SECONDS).execute()
    except RedisError as exc:
        # Never stop work because the counter is away; only the loop guard is lost.
        logger.warning("delivery of task %s not counted: %r", task_id, exc)
        return 0
    return deliveries


def refuse_worker_killers(request) -> None:
    """Raise WorkerKeptDying if this message came more than ORDERLY_MAX_DELIVERIES times.

    `request` is the running task's request. A message given back unrun (a
    worker's clean shutdown restores what it had prefetched) counts too,
    which the default of 3 leaves room for.
    """
    if not (request.delivery_info or {}).get("redelivered"):
        return
    deliveries = 1 + count_redelivery(request.id, request.retries)
    if deliveries > settings.ORDERLY_MAX_DELIVERIES:
        raise WorkerKeptDying(deliveries)


class OrderlyRequest(Request):
    """The worker's request for every Orderly task (OrderlyTask.Request)."""

    def on_timeout(self, soft, timeout):
        if soft:
            return super().on_timeout(soft, timeout)
        # Celery calls task.on_failure here, in the main process, outside any
        # task request; give it this request so the dead letter has its
        # queue, worker and attempts.
        # (Celery's own on_failure does the same for task_failure handlers.)
        self.task.request_stack.push(self._context)
        try:
            return super().on_timeout(soft, timeout)
        finally:
            self.task.request_stack.pop()
