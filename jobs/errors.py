"""The two kinds of failure every task distinguishes.

Tasks and the clients they call raise one of these; the shared base task
(jobs.base.OrderlyTask) turns them into a retry decision in one place.
"""


class TemporaryError(Exception):
    """A failure that may pass: timeout, connection error, 5xx, 429.

    Retried with exponential backoff and full jitter. `retry_after` (seconds)
    is a lower bound a remote service asked for (e.g. a Retry-After header).
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A failure that will not pass by retrying: a decline, a 4xx, bad data."""


class DeadLetterError(Exception):
    """An operator action on a dead letter that cannot be done; the message says why."""


class QueuePauseError(Exception):
    """A pause or resume that cannot be done (unknown queue, already paused); says why."""
