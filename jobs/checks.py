"""System checks for the task infrastructure (run by `manage.py check` and at every start)."""

from django.conf import settings
from django.core import checks

from .rabbitmq import QUEUE_TYPES
from .timers import timer_problems

TIMERS_TAG = "orderly_timers"


def timer_errors(problems: list[str], *, id: str) -> list[checks.Error]:
    """Check errors for timers that break their required order."""
    hint = "See 'Timers, and the order they must keep' in project/settings.py."
    return [checks.Error(problem, hint=hint, id=id) for problem in problems]


@checks.register(TIMERS_TAG)
def check_timer_order(app_configs=None, **kwargs):
    """Refuse task and broker timers that break their required order."""
    return timer_errors(timer_problems(), id="jobs.E001")


REDIS_TAG = "orderly_redis"


def sentinel_problems() -> list[str]:
    """Where a Redis Sentinel configuration is incomplete or bypassed (empty without Sentinel)."""
    import os

    from django.conf import settings

    from .redis_clients import parse_node

    nodes = settings.REDIS_SENTINELS
    if not nodes:
        return []
    problems = []
    if not settings.REDIS_SENTINEL_MASTER:
        problems.append(
            f"REDIS_SENTINELS ({', '.join(nodes)}) is set but REDIS_SENTINEL_MASTER is empty: "
            "set it to the master name the Sentinels monitor (`sentinel monitor <name> ...`)"
        )
    for node in nodes:
        try:
            parse_node(node)
        except ValueError as error:
            problems.append(f"REDIS_SENTINELS: {error}, e.g. 10.0.0.5:26379")
    # Celery prefers the CELERY_BROKER_URL variable to the setting (celery.app.utils).
    broker = os.environ.get("CELERY_BROKER_URL") or settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        problems.append(
            f"CELERY_BROKER_URL names one Redis ({broker.split('@')[-1]}) while REDIS_SENTINELS "
            "is set: the broker would not follow a failover. Unset it (Orderly builds the "
            "sentinel:// URL from REDIS_SENTINELS) or write it as sentinel://host:port;..."
        )
    if str(settings.CELERY_RESULT_BACKEND).startswith(("redis://", "rediss://")):
        problems.append(
            "CELERY_RESULT_BACKEND names one Redis while REDIS_SENTINELS is set: use "
            "sentinel:// (its master name comes from CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS)"
        )
    return problems


@checks.register(REDIS_TAG)
def check_sentinel_settings(app_configs=None, **kwargs):
    """Refuse a Sentinel configuration that names no master or leaves a client outside it."""
    hint = "See 'Redis Sentinel' in project/settings.py and docs/configuration.md."
    return [checks.Error(problem, hint=hint, id="jobs.E005") for problem in sentinel_problems()]


BROKER_TAG = "orderly_broker"


@checks.register(BROKER_TAG)
def check_rabbitmq_queues(app_configs=None, **kwargs):
    """Refuse quorum queues that countdown retries would break (see jobs.rabbitmq).

    Celery's native delayed delivery routes a countdown's message back
    through a topic exchange; on a direct exchange it logs a warning per
    retry and the worker holds the message instead, which a quorum queue's
    per-consumer prefetch has no room for.
    """
    hint = (
        "Set ORDERLY_RABBITMQ_QUEUE_TYPE=quorum, which binds every queue to the topic "
        "exchange 'orderly' (jobs.rabbitmq.task_queues), rather than declaring quorum queues "
        "by hand; see 'RabbitMQ: queue type' in project/settings.py."
    )
    queue_type = settings.ORDERLY_RABBITMQ_QUEUE_TYPE
    if queue_type not in QUEUE_TYPES:
        return [
            checks.Error(
                f"ORDERLY_RABBITMQ_QUEUE_TYPE={queue_type!r}: it must be one of "
                f"{', '.join(QUEUE_TYPES)}.",
                hint=hint,
                id="jobs.E002",
            )
        ]
    errors = []
    quorum = [
        queue
        for queue in settings.CELERY_TASK_QUEUES
        if (queue.queue_arguments or {}).get("x-queue-type") == "quorum"
    ]
    for queue in quorum:
        # A queue without an exchange of its own gets Celery's default exchange.
        exchange = queue.exchange
        if exchange is not None and exchange.name:
            name, kind = f"the {exchange.type} exchange {exchange.name!r}", exchange.type
        else:
            kind = getattr(settings, "CELERY_TASK_DEFAULT_EXCHANGE_TYPE", "direct")
            name = f"Celery's default exchange ({kind})"
        if kind == "direct":
            errors.append(
                checks.Error(
                    f"Quorum queue {queue.name!r} is bound to {name}: Celery's native delayed "
                    "delivery needs a topic exchange, so its countdown retries would be held "
                    "by the worker or not delivered as scheduled.",
                    hint=hint,
                    id="jobs.E003",
                )
            )
    if quorum and not getattr(settings, "CELERY_WORKER_DETECT_QUORUM_QUEUES", True):
        errors.append(
            checks.Error(
                "CELERY_WORKER_DETECT_QUORUM_QUEUES is off with quorum queues: workers would "
                "ask for a global prefetch limit, which quorum queues do not support, and "
                "would not set up native delayed delivery.",
                hint=hint,
                id="jobs.E004",
            )
        )
    return errors
