"""The shared base task: one retry policy for every task in Orderly.

`project.celery` installs OrderlyTask as the app's task class, so every
`@shared_task` gets it. A task body raises TemporaryError for failures that
may pass and PermanentError for those that will not; it never calls
`self.retry` itself.
"""

import logging
import random

from celery import Task
from django.conf import settings

from .errors import TemporaryError

logger = logging.getLogger(__name__)


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)].

    See "Exponential Backoff and Jitter" (AWS Architecture Blog): full jitter
    spreads retries of many failed tasks instead of retrying them in waves.
    """
    return random.uniform(0, min(cap, base * (2**attempt)))  # noqa: S311 (not crypto)


class OrderlyTask(Task):
    """Retries TemporaryError with capped, jittered backoff; fails fast otherwise."""

    # Tasks opt out with their own value; a result nobody reads costs 30-45%.
    max_retries = settings.ORDERLY_RETRY_MAX_RETRIES

    def retry_countdown(self, exc: TemporaryError) -> float:
        delay = backoff_delay(
            self.request.retries,
            base=settings.ORDERLY_RETRY_BACKOFF_SECONDS,
            cap=settings.ORDERLY_RETRY_BACKOFF_MAX_SECONDS,
        )
        if exc.retry_after:
            delay = max(delay, exc.retry_after)
        # Never put a countdown on the broker that outlives the visibility
        # timeout: Redis would deliver the message again before it is due.
        return min(delay, settings.CELERY_VISIBILITY_TIMEOUT / 2)

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except TemporaryError as exc:
            if self.request.called_directly or self.request.is_eager:
                raise
            countdown = self.retry_countdown(exc)
            logger.warning(
                "task %s[%s] temporary failure (attempt %d of %d), retrying in %.1fs: %s",
                self.name,
                self.request.id,
                self.request.retries + 1,
                (self.max_retries or 0) + 1,
                countdown,
                exc,
            )
            # Past max_retries, retry() re-raises exc and the task fails.
            raise self.retry(exc=exc, countdown=countdown) from exc
