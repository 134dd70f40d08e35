"""Which worker consumes which queue, gathered off the request path and labelled by age.

Asking the workers is a broadcast (`inspect().active_queues()`), and Celery
cannot know how many will answer, so it waits out its whole timeout for
stragglers: 2.1 s with two workers and the 2 s timeout, measured. With
`limit=` the worker count it returns after 4 ms, until one worker is slow
(stopped, swapping, in a long pause): then it waits the 2 s again. /readyz
and /metrics must never hold a web thread for that, so each web process
keeps the last answer here and a background thread asks again once the
answer is older than ORDERLY_WORKER_FACTS_MAX_AGE. A request reads the last
answer and never waits, except the first in a process (the warm-up), which
waits for the first answer.

Facts carry the time they were gathered, and readiness and /metrics show
their age: a worker that stopped answering is listed, as of when it last
answered, until the next refresh it does not answer (at most the maximum
age plus the readiness timeout later).
"""

import logging
import os
import threading
import time
from dataclasses import dataclass, field

from celery import current_app as celery_app
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerFacts:
    """What the workers answered to one broadcast."""

    consumers: dict[str, list[str]] = field(default_factory=dict)  # queue -> worker names
    gathered_at: float = 0.0  # Unix time the question was sent
    error: str = ""  # why the workers could not be asked, "" when they were

    def age_seconds(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.gathered_at)


def broker_connection(broker_url: str | None):
    return celery_app.connection_for_write(
        url=broker_url, connect_timeout=settings.ORDERLY_READINESS_TIMEOUT
    )


def ask_workers(broker_url: str | None = None) -> WorkerFacts:
    """Broadcast the question and wait the readiness timeout for answers (blocks)."""
    asked_at = time.time()
    try:
        with broker_connection(broker_url) as conn:
            replies = (
                celery_app.control.inspect(
                    timeout=settings.ORDERLY_READINESS_TIMEOUT, connection=conn
                ).active_queues()
                or {}
            )
    except Exception as error:  # refused, timed out, bad credentials ...
        return WorkerFacts(gathered_at=asked_at, error=f"{type(error).__name__}: {error}")
    consumers: dict[str, list[str]] = {}
    for worker, queues in replies.items():
        for queue in queues or []:
            consumers.setdefault(queue.get("name"), []).append(worker)
    return WorkerFacts(
        consumers={queue: sorted(workers) for queue, workers in consumers.items()},
        gathered_at=asked_at,
    )


class FactsCache:
    """The last facts per broker URL in this process, refreshed by one thread at a time."""

    def __init__(self):
        self._reset()
        # A forked child (a gunicorn worker) has neither the parent's thread nor,
        # safely, its lock: it starts empty.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._facts: dict[str, WorkerFacts] = {}
        self._refreshing: dict[str, threading.Event] = {}
        self._generation = 0  # forget() discards what a refresh in flight brings back

    def current(self, broker_url: str | None = None) -> WorkerFacts:
        """The last facts, starting a refresh in the background when they are too old."""
        key = broker_url or ""
        with self._lock:
            facts = self._facts.get(key)
            too_old = facts is None or facts.age_seconds() >= settings.ORDERLY_WORKER_FACTS_MAX_AGE
            if too_old and key not in self._refreshing:
                self._refreshing[key] = threading.Event()
                threading.Thread(
                    target=self._refresh, args=(key, broker_url, self._generation),
                    name="orderly-worker-facts", daemon=True,
                ).start()  # fmt: skip
            pending = self._refreshing.get(key)
        if facts is None and pending is not None:  # the warm-up: nothing to show yet
            pending.wait(2 * settings.ORDERLY_READINESS_TIMEOUT + 1)
            facts = self._facts.get(key)
        return facts or WorkerFacts(gathered_at=time.time(), error="the workers were not asked yet")

    def _refresh(self, key: str, broker_url: str | None, generation: int) -> None:
        try:
            facts = ask_workers(broker_url)
        except Exception as error:  # never let the thread die with the event unset
            logger.exception("asking the workers failed")
            facts = WorkerFacts(gathered_at=time.time(), error=f"{type(error).__name__}: {error}")
        with self._lock:
            if generation == self._generation:
                self._facts[key] = facts
                event = self._refreshing.pop(key, None)
            else:
                event = None
        if event is not None:
            event.set()

    def forget(self) -> None:
        """Drop every fact (tests; a new process starts empty anyway)."""
        with self._lock:
            self._facts.clear()
            self._generation += 1
            for event in self._refreshing.values():
                event.set()  # a warm-up waiting on a discarded refresh stops waiting
            self._refreshing.clear()


cache = FactsCache()
