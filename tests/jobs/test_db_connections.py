"""A worker closes a task's database connections after everything else that ran for the task."""

from celery.signals import task_postrun

from jobs.apps import close_connections_after_tasks
from jobs.db_connections import after_task
from ops import order_metrics


def test_connections_close_after_every_other_task_postrun_receiver():
    # What a worker does at start-up (worker_init), after every app's ready().
    close_connections_after_tasks()

    receivers = task_postrun._live_receivers(sender=None)
    # The checkout-to-final metric queries the order; run after the close, it
    # opened a connection nothing closed (two per greenlet in gevent workers).
    assert order_metrics.on_postrun in receivers
    assert receivers[-1] is after_task
