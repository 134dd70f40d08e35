"""Marking published outbox rows sent: in batches, off the request path.

Marking a row sent right after publishing it was its own transaction per
order (BEGIN, SET LOCAL, UPDATE, COMMIT): four round trips on the request
path, as much time as the publish itself. A lost mark costs little: the
relay publishes the row again after the grace period, and every task is
idempotent. So `mark_sent_soon` queues the id, and one thread per process
marks what has queued up with one UPDATE, a few milliseconds later. Under
load one UPDATE covers many orders.

A process that dies before its flush leaves those rows unsent, exactly like
a crash between publish and mark did before: the relay publishes them again.
Rows are flushed at exit (atexit) when the process exits normally.
"""

import atexit
import logging
import os
import threading

from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import OutboxMessage

logger = logging.getLogger(__name__)

# How long the flusher collects ids after the first one arrives, and how long
# it keeps its database connection once it has nothing to do.
COLLECT_SECONDS = 0.02
IDLE_SECONDS = 2.0


def mark_sent(message_ids: list[int]) -> int:
    """Mark unsent rows sent now, in one statement; returns how many changed.

    The commit does not wait for the WAL flush (PostgreSQL): losing this write
    in a crash only means the relay publishes the rows again.
    """
    if not message_ids:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        return OutboxMessage.objects.filter(pk__in=message_ids, sent_at__isnull=True).update(
            sent_at=timezone.now(), publish_attempts=F("publish_attempts") + 1, last_error=""
        )


class _Flusher:
    """One daemon thread per process (started on first use, again after a fork)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._wake = threading.Event()
        self._pid = None

    def add(self, message_id: int) -> None:
        with self._lock:
            self._pending.append(message_id)
            if self._pid != os.getpid():  # first use here, or a forked child
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="outbox-sent-marks", daemon=True).start()
        self._wake.set()

    def flush(self) -> int:
        """Mark everything queued so far; returns how many rows changed."""
        with self._lock:
            ids, self._pending = self._pending, []
        return mark_sent(ids)

    def _run(self) -> None:
        while True:
            if not self._wake.wait(IDLE_SECONDS):
                connection.close()  # idle: hold no database connection
                continue
            self._wake.clear()
            self._wake.wait(COLLECT_SECONDS)  # let a few more orders join this batch
            self._wake.clear()
            try:
                close_old_connections()
                self.flush()
            except Exception:  # the rows stay unsent; the relay publishes them again
                logger.exception("could not mark published outbox rows sent")


_flusher = _Flusher()
mark_sent_soon = _flusher.add
flush_sent_marks = _flusher.flush
atexit.register(lambda: _flusher.flush() if _flusher._pending else None)
