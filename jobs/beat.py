"""Exactly one active beat: django-celery-beat's scheduler, ticking only under a lease.

Two beats would send every periodic task twice (the job locks stop the
overlap, not the duplicate message). Every beat process uses this scheduler;
each tick it takes or renews a lease in Redis (jobs.locks.hold, in
ORDERLY_LOCK_REDIS_URL) and only the holder sends anything. A second beat
started by mistake stands by; when the holder dies, its lease expires
after ORDERLY_BEAT_LEASE_SECONDS and a standby takes over at its next tick,
re-reading every schedule's last run from the database first. A beat that
stops cleanly gives the lease up at once. The logs and /readyz name the
active beat.
"""

import faulthandler
import logging
import os
import signal
import socket
import sys
import uuid

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from . import locks
from .errors import TemporaryError

logger = logging.getLogger(__name__)

LEASE = "beat"


def active_beat() -> str | None:
    """The id (host:pid:nonce) of the beat holding the lease, or None."""
    return locks.holder(LEASE)


class LeasedDatabaseScheduler(DatabaseScheduler):
    """DatabaseScheduler that sends due tasks only while it holds the beat lease."""

    def __init__(self, *args, **kwargs):
        self.beat_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.active: bool | None = None  # None until the first tick
        super().__init__(*args, **kwargs)
        # `kill -USR1 <beat pid>` prints where every thread is to stderr, as
        # Celery's worker does on SIGUSR1: a beat that stopped sending says why.
        # (The process's own stderr: Celery replaces sys.stderr with a logger.)
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)

    def tick(self, *args, **kwargs):
        lease_seconds = settings.ORDERLY_BEAT_LEASE_SECONDS
        # Renew well before expiry, so one slow tick never loses the lease.
        renew_every = lease_seconds / 3
        holder = None
        try:
            holding = locks.hold(LEASE, owner=self.beat_id, timeout=lease_seconds)
            if not holding:
                holder = active_beat()
        except TemporaryError as exc:
            holding, holder = False, f"unknown ({exc})"
        if not holding:
            if self.active is not False:
                logger.warning("beat %s standing by: the active beat is %s", self.beat_id, holder)
            self.active = False
            return renew_every
        if not self.active:
            # Taking over from a beat that stopped renewing is news; a first,
            # uncontested start is not (a healthy `make dev` prints no warning).
            level = logging.WARNING if self.active is False else logging.INFO
            logger.log(
                level,
                "beat %s is the active beat (lease %gs in Redis)",
                self.beat_id,
                lease_seconds,
            )
            self.active = True
            # Another beat may have sent tasks since we last read the schedule.
            self._initial_read = True
            self._heap = None
        return min(super().tick(*args, **kwargs), renew_every)

    def close(self):
        super().close()
        if self.active:
            self.active = False
            if locks.release(LEASE, owner=self.beat_id):
                logger.warning("beat %s stopped and gave up the lease", self.beat_id)
