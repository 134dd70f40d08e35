from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        from celery.signals import beat_init, task_prerun, worker_init, worker_ready

        from . import (
            checks,  # noqa: F401 (registers the system checks)
            redis_clients,
        )
        from .db_connections import before_task
        from .services import queue_pausing, task_attempts

        worker_ready.connect(relay_outbox_at_worker_start, weak=False)
        worker_ready.connect(queue_pausing.cancel_paused_queues_at_worker_start, weak=False)
        task_attempts.connect()
        worker_init.connect(refuse_timers_out_of_order, weak=False)
        beat_init.connect(refuse_timers_out_of_order, weak=False)
        worker_init.connect(redis_clients.log_sentinels_at_start, weak=False)
        beat_init.connect(redis_clients.log_sentinels_at_start, weak=False)
        task_prerun.connect(before_task, weak=False, dispatch_uid="jobs.db_before_task")
        # Closing a task's connections must come after every other task_postrun
        # receiver, some of which query (ops.order_metrics, task_attempts):
        # Celery calls receivers in the order they connected, and apps after
        # this one connect theirs in their own ready(). Connected when the
        # worker starts, after every ready(). Run before it, a later query
        # opened a connection nothing closed: a gevent worker held two per
        # greenlet (64 for 32) and PostgreSQL ran out of connections at 20
        # orders/s.
        worker_init.connect(close_connections_after_tasks, weak=False)


def close_connections_after_tasks(**kwargs):
    """Connect jobs.db_connections.after_task as the last task_postrun receiver."""
    from celery.signals import task_postrun

    from .db_connections import after_task

    task_postrun.disconnect(dispatch_uid="jobs.db_after_task")
    task_postrun.connect(after_task, weak=False, dispatch_uid="jobs.db_after_task")


def refuse_timers_out_of_order(sender=None, **kwargs):
    """A worker or beat does not start with timers that break their order (see settings),
    nor with a Redis Sentinel configuration that names no master (jobs.checks).

    Celery's Django fixup runs the system checks at start-up but ignores
    what they find, and it logs (and survives) an exception from a signal
    handler: so this exits. Web processes are covered by `manage.py check`
    and migrate, which stop on these errors too.
    """
    from django.core import checks

    from .checks import BROKER_TAG, REDIS_TAG, TIMERS_TAG

    tags = [TIMERS_TAG, BROKER_TAG, REDIS_TAG]
    errors = [e for e in checks.run_checks(tags=tags) if e.is_serious()]
    if errors:
        raise SystemExit("Refusing to start:\n" + "\n".join(str(error) for error in errors))


def relay_outbox_at_worker_start(sender, **kwargs):
    """A worker that starts after an outage publishes what was stranded meanwhile.

    Beat runs the relay every few seconds too; this only shortens the wait
    after a restart. Published as a task, so the worker's main process
    touches no database connection before its pool forks.
    """
    sender.app.send_task("jobs.relay_outbox", queue="default")
