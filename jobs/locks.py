"""Redis locks for jobs that must not run twice at the same time.

A periodic job can be started twice at once: by a second beat that should
not exist, by an operator's "run now" while beat's run is in progress, or
by a redelivered message. Jobs whose overlap would do duplicate work hold a
lock in Redis while they run.

- Acquiring never waits: a job that finds the lock taken logs it and does
  nothing (the run in progress does the work).
- Every lock has a timeout, so a worker killed while holding one blocks the
  job only until the timeout passes. Choose it longer than the job can run
  (at least the task's hard time limit).
- A lock is released only by its owner (a token compared in Redis), so a run
  whose lock timed out cannot release the lock of the run that followed.

The locks live in settings.ORDERLY_LOCK_REDIS_URL (REDIS_URL by default),
reached through Redis Sentinel when settings.REDIS_SENTINELS says so
(jobs.redis_clients): a failover moves them with the data, except a lock
taken in the old master's last moments, which replication had not copied.
Redis being unreachable is a TemporaryError: the job is retried rather than
run without its lock.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings
from redis.exceptions import LockNotOwnedError, RedisError
from redis.lock import Lock

from . import redis_clients
from .errors import TemporaryError

logger = logging.getLogger(__name__)

KEY_PREFIX = "orderly:lock:"


class LockHeld(Exception):
    """Another run holds the lock; `holder` is its owner token."""

    def __init__(self, name: str, holder: str | None):
        super().__init__(f"lock {name!r} is held by {holder or 'another run'}")
        self.name = name
        self.holder = holder


def _client(url: str) -> redis.Redis:
    return redis_clients.client(url)


def _lock(name: str, timeout: float | None = None) -> Lock:
    # thread_local=False: the token must be readable by whoever holds this
    # Lock object, whichever thread (Celery's thread pool, the test) uses it.
    client = _client(settings.ORDERLY_LOCK_REDIS_URL)
    return Lock(client, KEY_PREFIX + name, timeout=timeout, thread_local=False)


@contextmanager
def exclusive(name: str, *, timeout: float) -> Iterator[None]:
    """Run the block holding the lock `name`; raise LockHeld at once if another run holds it."""
    owner = uuid.uuid4().hex
    if not acquire(name, owner=owner, timeout=timeout):
        raise LockHeld(name, holder(name))
    try:
        yield
    finally:
        release(name, owner=owner)


def acquire(name: str, *, owner: str, timeout: float) -> bool:
    """Take the lock `name` for `owner` for `timeout` seconds, without waiting.

    True when `owner` holds the lock now, including when it already held it
    (a redelivered task that took the lock before it was interrupted).
    Use this directly, with a stable owner such as "sales-report:12", when
    the lock must outlive one task and be released by a later one.
    """
    lock = _lock(name, timeout)
    try:
        if lock.acquire(blocking=False, token=owner):
            return True
        return holder(name) == owner
    except RedisError as exc:
        raise TemporaryError(f"lock store unreachable: {exc!r}") from exc


def hold(name: str, *, owner: str, timeout: float) -> bool:
    """Take the lock `name` for `owner`, or renew it for another `timeout` if `owner` holds it.

    A lease: the holder calls this more often than `timeout`; when it stops
    (its process died), the lock expires and another owner can take it.
    False when someone else holds it.
    """
    lock = _lock(name, timeout)
    try:
        if lock.acquire(blocking=False, token=owner):
            return True
        lock.local.token = owner.encode()
        lock.reacquire()  # compare-and-extend in Redis: only the owner can renew
        return True
    except LockNotOwnedError:
        return False
    except RedisError as exc:
        raise TemporaryError(f"lock store unreachable: {exc!r}") from exc


def release(name: str, *, owner: str) -> bool:
    """Release the lock `name` if `owner` still holds it; False if it had expired or moved on."""
    lock = _lock(name)
    try:
        lock.do_release(owner.encode())
    except LockNotOwnedError:
        logger.warning("lock %s was no longer held by %s (timed out?)", name, owner)
        return False
    except RedisError as exc:
        # The timeout will free it; do not fail a job that finished its work.
        logger.warning("lock %s not released (%r); it expires by itself", name, exc)
        return False
    return True


def holder(name: str) -> str | None:
    """The owner token of the lock `name`, or None when nobody holds it."""
    try:
        value = _lock(name).redis.get(KEY_PREFIX + name)
    except RedisError as exc:
        raise TemporaryError(f"lock store unreachable: {exc!r}") from exc
    return value.decode() if value is not None else None
