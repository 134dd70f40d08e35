"""No-op tasks for measuring Celery overhead (loaded by bench workers with --include)."""

from celery import Task, shared_task


@shared_task(name="bench.noop", ignore_result=True)
def noop() -> None:
    """Through Orderly's shared base task (jobs.base.OrderlyTask)."""


@shared_task(name="bench.bare_noop", base=Task, ignore_result=True)
def bare_noop() -> None:
    """A bare Celery task: the baseline for the base task's overhead."""
