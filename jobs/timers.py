"""Task timers: the required order of the broker's and tasks' timers, and scaling them.

settings.py states the order once (see "Timers, and the order they must
keep"); `timer_problems` checks the part of it that is infrastructure, and
jobs.checks turns that into a system check. The orders app adds its own rule
(orders.checks).
"""

from celery import current_app
from django.conf import settings
from django.utils.module_loading import autodiscover_modules


class TaskAnnotations:
    """The Celery task annotation (CELERY_TASK_ANNOTATIONS): task options from settings.

    Applies settings.ORDERLY_TASK_OPTIONS ({task name: {option: value}}) and
    multiplies each task's time limits by ORDERLY_TIMER_SCALE, so a test that
    shortens the visibility timeout shortens every hard time limit by the
    same factor. One object for both: Celery applies only the first
    annotation that matches a task.
    """

    def annotate(self, task):
        options = dict(settings.ORDERLY_TASK_OPTIONS.get(task.name, {}))
        scale = settings.ORDERLY_TIMER_SCALE
        if scale != 1:
            # The unscaled values, kept so a second annotate() does not compound.
            limits = task.__dict__.get("_orderly_unscaled_limits") or (
                task.time_limit,
                task.soft_time_limit,
            )
            hard, soft = limits
            options.update(
                _orderly_unscaled_limits=limits,
                time_limit=hard * scale if hard else None,
                soft_time_limit=soft * scale if soft else None,
            )
        return options or None


def hard_time_limit(task) -> float | None:
    """The hard time limit the worker enforces for `task` (its own, or the default)."""
    return task.time_limit or settings.CELERY_TASK_TIME_LIMIT


def soft_time_limit_seconds(task) -> float | None:
    """The soft time limit the worker enforces for `task` (its own, or the default)."""
    return task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT


def registered_tasks():
    # Django's own discovery: Celery's would run the system checks again (its
    # Django fixup validates models on import), recursing into this one.
    autodiscover_modules("tasks")
    return sorted(
        (task for name, task in current_app.tasks.items() if not name.startswith("celery.")),
        key=lambda task: task.name,
    )


def timer_problems() -> list[str]:
    """Where the configured timers break their required order (empty when they keep it)."""
    visibility = settings.CELERY_VISIBILITY_TIMEOUT
    problems = []
    if visibility <= settings.ORDERLY_RETRY_BACKOFF_MAX_SECONDS:
        problems.append(
            f"the retry countdown cap ORDERLY_RETRY_BACKOFF_MAX_SECONDS "
            f"({settings.ORDERLY_RETRY_BACKOFF_MAX_SECONDS:g}s) is not below the visibility "
            f"timeout ({visibility:g}s): a task waiting that long on the broker runs twice"
        )
    lease = settings.ORDERLY_BEAT_LEASE_SECONDS
    if not 0 < lease * 4 / 3 <= 60:
        problems.append(
            f"the beat lease ORDERLY_BEAT_LEASE_SECONDS ({lease:g}s) lets a standby beat take "
            "over more than 60 s after the active one dies"
        )
    for task in registered_tasks():
        hard = hard_time_limit(task)
        if hard is None or hard >= visibility:
            problems.append(
                f"task {task.name}'s hard time limit ({hard}s) is not below the visibility "
                f"timeout ({visibility:g}s): a task still running would be delivered again"
            )
        soft = soft_time_limit_seconds(task)
        if soft and hard and soft >= hard:
            problems.append(f"task {task.name}'s soft time limit ({soft}s) is not below {hard}s")
    return problems


def retry_span(task) -> float:
    """The longest a task can take from its first attempt to its last retry's end.

    Every attempt may run to the hard time limit, and every countdown may be
    the full capped backoff.
    """
    cap = settings.ORDERLY_RETRY_BACKOFF_MAX_SECONDS
    base = settings.ORDERLY_RETRY_BACKOFF_SECONDS
    retries = task.max_retries or 0
    waits = sum(min(cap, base * 2**retry) for retry in range(retries))
    return waits + (retries + 1) * (hard_time_limit(task) or 0)
