"""Logging filters that keep logs about work, not routine polling (workers, beat, web)."""

import logging
import re
from collections.abc import Mapping
from functools import cached_property

# Celery logs "succeeded" with the task's repr()ed return value.
NOTHING_DONE = {"0", "None", "{}", "[]"}
# celery.beat.Scheduler.apply_entry, before each send: (entry name, task name).
SENDING_DUE = "Scheduler: Sending due task %s (%s)"


class QuietFrequentJobs(logging.Filter):
    """Drop the log lines of periodic jobs that run every few seconds and found nothing to do.

    The outbox relay and the webhook dispatcher run every 5-10 s; their
    "Sending due task", "received" and "succeeded: 0" lines would bury
    everything else. A run that did something (a non-zero result), a
    retry or a failure is still logged. Attach it to the `celery.beat`,
    `celery.worker.strategy` and `celery.app.trace` loggers.
    """

    def __init__(self, name: str = "", max_interval_seconds: int = 60):
        super().__init__(name)
        self.max_interval_seconds = max_interval_seconds

    @cached_property
    def task_names(self) -> frozenset[str]:
        from jobs.schedules import SCHEDULES

        return frozenset(
            schedule.task
            for schedule in SCHEDULES
            if schedule.every_seconds and schedule.every_seconds < self.max_interval_seconds
        )

    def filter(self, record: logging.LogRecord) -> bool:
        # Never raises: an exception from a filter escapes the logging call
        # itself, so a line this did not expect would stop the process that
        # logs it (beat's "Message Error" after a failed send did, once).
        args = record.args
        if isinstance(args, Mapping) and self._frequent(args.get("name")):
            if "return_value" in args:  # "succeeded in ...s: <result>"
                return str(args["return_value"]) not in NOTHING_DONE
            return "exc" in args  # a failure or a retry stays; "received" goes
        if record.msg == SENDING_DUE and isinstance(args, tuple) and len(args) == 2:
            return not self._frequent(args[1])
        return True

    def _frequent(self, task_name) -> bool:
        return isinstance(task_name, str) and task_name in self.task_names


class QuietStartupChatter(logging.Filter):
    """Drop start-up lines that restate configuration rather than report work.

    Every worker announces each peer it meets ("sync with emails@host"), and
    Flower lists the broker and every registered task. Matched on the exact
    format strings, so nothing else these loggers say is lost.
    """

    FORMATS = frozenset({"sync with %s", "Broker: %s", "Registered tasks: \n%s"})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self.FORMATS


class QuietRoutineRequests(logging.Filter):
    """Keep the console's access log to the requests a developer reads.

    For gunicorn's access records (`gunicorn.access`, whose args are its log
    atoms: "U" the path, "s" the status): drops a request whose path matches
    one of `paths` (status polls, health probes, static files: they repeat on
    their own every few seconds), and any 4xx/5xx, which `django.request`
    already logs once with its reason. The access log file keeps every line.
    """

    def __init__(self, name: str = "", paths: list[str] | tuple[str, ...] = ()):
        super().__init__(name)
        self.routine = re.compile("|".join(f"(?:{path})" for path in paths)) if paths else None

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not isinstance(atoms, Mapping):
            return True
        try:
            if int(atoms.get("s")) >= 400:
                return False
        except (TypeError, ValueError):
            pass
        path = atoms.get("U") or ""
        return not (self.routine and self.routine.search(path))
