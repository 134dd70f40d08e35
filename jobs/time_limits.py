"""Soft time limits in green pools (gevent), where Celery enforces only the hard one.

Celery's prefork pool raises SoftTimeLimitExceeded inside an overrunning task
(a signal), so the task fails and the shared base task leaves a dead letter.
Its gevent pool (celery/concurrency/gevent.py, `apply_timeout`) wraps a task
in a gevent.Timeout of the *hard* limit only, and ignores the soft one: the
task gets no chance to clean up, and is stopped only at the hard limit (where
Celery's Request.on_timeout calls on_failure, so it is dead-lettered then).
This module puts the soft limit back, as a gevent.Timeout that raises
SoftTimeLimitExceeded in the task: a waiting call (HTTP, the database) is
interrupted, the task fails like it would under prefork, and is dead-lettered.
"""

import sys
from contextlib import AbstractContextManager, nullcontext

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from .timers import soft_time_limit_seconds


def running_green() -> bool:
    """True in a process gevent has monkey-patched (a `--pool gevent` worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


def soft_time_limit(task: Task) -> AbstractContextManager:
    """Within the block, the task's soft time limit raises SoftTimeLimitExceeded (green pools).

    Elsewhere (prefork, a direct call, eager mode) it does nothing: prefork
    enforces the limit itself.
    """
    request = task.request
    if request.called_directly or request.is_eager or not running_green():
        return nullcontext()
    limit = (request.timelimit or (None, None))[1] or soft_time_limit_seconds(task)
    if not limit:
        return nullcontext()
    from gevent import Timeout

    return Timeout(limit, SoftTimeLimitExceeded(f"soft time limit ({limit}s) exceeded"))
