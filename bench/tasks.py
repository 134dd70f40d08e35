"""No-op tasks for measuring Celery overhead (loaded by bench workers with --include)."""

from celery import Task, shared_task


@shared_task(name="bench.noop", ignore_result=True)
def noop() -> None:
    """Through Orderly's shared base task (jobs.base.OrderlyTask)."""


@shared_task(name="bench.bare_noop", base=Task, ignore_result=True)
def bare_noop() -> None:
    """A bare Celery task: the baseline for the base task's overhead."""


@shared_task(name="bench.noop_recorded", business_object="orders.Order", ignore_result=True)
def noop_recorded(order_id: int) -> None:
    """Through the base task, naming a business object: one jobs.TaskAttempt row per run,
    as every order task writes for the operator's timeline."""


@shared_task(name="bench.mark_delivery_then_sleep", ignore_result=True, time_limit=120)
def mark_delivery_then_sleep(key: str, redis_url: str, seconds: float) -> None:
    """Record when each delivery starts (a Redis list), then work for `seconds`.

    bench/recovery.py kills the worker during the sleep and times the next start.
    """
    import time

    import redis

    redis.Redis.from_url(redis_url).rpush(key, time.time())
    time.sleep(seconds)


@shared_task(name="bench.noop_stored", ignore_result=False)
def noop_stored() -> None:
    """Through the base task, storing its result (what ignore_result saves)."""
