"""The shared base task: one retry policy and one dead-letter path for every task.

`project.celery` installs OrderlyTask as the app's task class, so every
`@shared_task` gets it. A task body raises TemporaryError for failures that
may pass and PermanentError for those that will not; it never calls
`self.retry` itself and never writes its own dead letter.

A task names the model its first argument is a key of (`business_object=`)
so logs and dead letters point at the business object, e.g. "order:<uuid>".
"""

import logging
import math
import random
from datetime import datetime

from celery import Task
from celery.app.task import X_DEATH_HEADERS
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from .errors import TemporaryError
from .rabbitmq import queue_of_delivery, uses_native_delayed_delivery
from .services.dead_letters import (
    DEAD_LETTER_HEADER,
    business_reference,
    record_dead_letter,
    record_requeue_outcome,
)
from .time_limits import soft_time_limit
from .worker_loss import WorkerKeptDying, refuse_worker_killers

logger = logging.getLogger(__name__)

FIRST_FAILURE_HEADER = "orderly_first_failure"
# Database failures that are no fault of the task's (django.db wraps the driver's).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)].

    See "Exponential Backoff and Jitter" (AWS Architecture Blog): full jitter
    spreads retries of many failed tasks instead of retrying them in waves.
    """
    return random.uniform(0, min(cap, base * (2**attempt)))  # noqa: S311 (not crypto)


def check_countdown(countdown: float | None, eta: datetime | None) -> None:
    """Refuse a delay the broker would not honour.

    Redis redelivers any message not acknowledged within the visibility
    timeout, including one still waiting for its ETA: such a task would run
    again and again. Longer waits belong in the database (a due time on a
    row) with a periodic task dispatching what is due.
    """
    limit = settings.CELERY_VISIBILITY_TIMEOUT
    delay = countdown or 0
    if eta is not None:
        delay = max(delay, (eta - timezone.now()).total_seconds())
    if delay >= limit:
        raise ValueError(
            f"a countdown of {delay:.0f}s is not shorter than the broker's visibility "
            f"timeout ({limit}s); keep long waits in the database instead"
        )


class OrderlyTask(Task):
    """Retries TemporaryError with capped, jittered backoff; dead-letters final failures."""

    business_object: str | None = None  # app_label.Model whose pk is the first argument
    # Dead-letters hard time-limit kills with the request filled in (jobs.worker_loss).
    Request = "jobs.worker_loss:OrderlyRequest"

    @property
    def max_retries(self) -> int:
        """settings.ORDERLY_RETRY_MAX_RETRIES, read when used; a task may set its own."""
        return settings.ORDERLY_RETRY_MAX_RETRIES

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None,
                    link_error=None, shadow=None, **options):  # fmt: skip
        check_countdown(options.get("countdown"), options.get("eta"))
        # RabbitMQ's confirm may never come (a queue without a majority): a
        # publish with retries then reconnects and tries again, one without fails.
        options.setdefault("confirm_timeout", settings.ORDERLY_PUBLISH_CONFIRM_TIMEOUT_SECONDS)
        # The worker enforces its own time limits, the ones its system check
        # put in order with its visibility timeout. Celery would copy the
        # producer's into the message, where they win: a web process or a
        # test with other settings (another ORDERLY_TIMER_SCALE or
        # ORDERLY_TASK_OPTIONS, the release before a deploy) would set them.
        options.setdefault("time_limit", None)
        options.setdefault("soft_time_limit", None)
        countdown = options.get("countdown")
        if countdown and 0 < countdown < 1 and uses_native_delayed_delivery(self.app):
            # Native delayed delivery counts whole seconds, and Celery 5.7
            # raises ValueError for a countdown under one (kombu's
            # calculate_routing_key). Full jitter makes such countdowns common.
            options["countdown"] = math.ceil(countdown)
        return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow,
                                   **options)  # fmt: skip

    def retry_countdown(self, exc: TemporaryError) -> float:
        delay = backoff_delay(
            self.request.retries,
            base=settings.ORDERLY_RETRY_BACKOFF_SECONDS,
            cap=settings.ORDERLY_RETRY_BACKOFF_MAX_SECONDS,
        )
        if exc.retry_after:
            delay = max(delay, exc.retry_after)
        # The cap holds for Retry-After too: it is below the visibility
        # timeout (a system check), see check_countdown.
        return min(delay, settings.ORDERLY_RETRY_BACKOFF_MAX_SECONDS)

    def business_reference(self, args) -> str:
        try:
            return business_reference(self.business_object, args)
        except Exception:  # a reference is a convenience; never fail a task over it
            logger.exception("could not resolve the business object of %s%r", self.name, args)
            return ""

    def __call__(self, *args, **kwargs):
        if not (self.request.called_directly or self.request.is_eager):
            # A message whose every run killed its worker is not run again.
            refuse_worker_killers(self.request)
        try:
            with soft_time_limit(self):  # prefork enforces it itself; gevent does not
                return super().__call__(*args, **kwargs)
        except DATABASE_UNAVAILABLE as exc:
            # The database refused a connection (too many clients, a restart),
            # dropped one, or ended a transaction in a deadlock or serialization
            # failure. The task's transaction was rolled back; another attempt
            # may well succeed, so this is temporary, not a dead letter.
            if self.request.called_directly or self.request.is_eager:
                raise
            # Drop the broken connection first: the retry's own bookkeeping
            # (its RETRY state in the result backend) needs a working one.
            close_old_connections()
            raise self._retry(args, TemporaryError(f"database: {exc}")) from exc
        except TemporaryError as exc:
            if self.request.called_directly or self.request.is_eager:
                raise
            raise self._retry(args, exc) from exc

    def _retry(self, args, exc: TemporaryError):
        """Log the temporary failure and schedule the next attempt (past max_retries: re-raise)."""
        countdown = self.retry_countdown(exc)
        logger.warning(
            "task %s[%s] %s: temporary failure (attempt %d of %d), retrying in %.1fs: %s",
            self.name,
            self.request.id,
            self.business_reference(args),
            self.request.retries + 1,
            (self.max_retries or 0) + 1,
            countdown,
            exc,
        )
        first_failure = self._first_failure_header() or timezone.now().isoformat()
        # Not RabbitMQ's dead-letter history (x-death ...): a countdown through
        # the quorum delay queues (native delayed delivery) leaves it on the
        # message, and a retry carrying it is dropped by RabbitMQ as a
        # dead-letter cycle at its next delay. Celery's own retry drops them too.
        headers = {
            **{k: v for k, v in (self.request.headers or {}).items() if k not in X_DEATH_HEADERS},
            FIRST_FAILURE_HEADER: first_failure,
        }
        # Past max_retries, retry() re-raises exc and the task fails for good.
        return self.retry(exc=exc, countdown=countdown, headers=headers)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """The task failed for good: leave a dead letter an operator can requeue."""
        first_failure = self._first_failure_header()
        record_dead_letter(
            task_name=self.name,
            task_id=task_id,
            queue=queue_of_delivery(self.request.delivery_info),
            args=args,
            kwargs=kwargs,
            exc=exc,
            traceback=str(einfo.traceback) if einfo else "",
            attempts=exc.deliveries - 1
            if isinstance(exc, WorkerKeptDying)
            else self.request.retries + 1,
            worker_hostname=self.request.hostname or "",
            first_failed_at=datetime.fromisoformat(first_failure) if first_failure else None,
            reference=self.business_reference(args),
            requeue_of=int(requeued) if (requeued := self._header(DEAD_LETTER_HEADER)) else None,
        )

    def on_success(self, retval, task_id, args, kwargs):
        """A requeued task returned: its dead letter is resolved, or reopened if it did nothing."""
        dead_letter_id = self._header(DEAD_LETTER_HEADER)
        if dead_letter_id:
            record_requeue_outcome(
                dead_letter_id=int(dead_letter_id), task_id=task_id, result=retval
            )

    def _header(self, name):
        # Custom message headers arrive as request attributes; retries carry
        # them in request.headers.
        return getattr(self.request, name, None) or (self.request.headers or {}).get(name)

    def _first_failure_header(self) -> str | None:
        return self._header(FIRST_FAILURE_HEADER)
