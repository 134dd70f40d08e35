"""Tasks that exist only for tests; the test worker imports them with --include.

They use the shared base task like every Orderly task, so they prove the
base task's retry and dead-letter behaviour in a real worker.
"""

import os
import time

import redis
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.db import connection

from jobs.errors import PermanentError, TemporaryError


def _redis():
    return redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])


@shared_task(name="tests.always_fails", soft_time_limit=10, time_limit=20)
def always_fails(note: str, *, card_number: str, api_token: str) -> None:
    raise PermanentError(f"this task always fails ({note})")


@shared_task(name="tests.fails_until_fixed", max_retries=1, soft_time_limit=10, time_limit=20)
def fails_until_fixed(switch: str) -> str:
    """Temporary failures while the Redis key `switch` is unset; then records a success."""
    client = _redis()
    if not client.get(switch):
        raise TemporaryError(f"{switch} is broken")
    client.incr(f"{switch}:ran")
    return "fixed"


@shared_task(name="tests.kills_its_worker", soft_time_limit=10, time_limit=20)
def kills_its_worker(note: str) -> None:
    """Ends its worker process on every run, as a segfault or the OOM killer would."""
    _redis().incr(f"{note}:runs")
    os._exit(1)


@shared_task(name="tests.loses_its_database_once", soft_time_limit=10, time_limit=20)
def loses_its_database_once(note: str) -> str:
    """On its first run the server ends this task's connection (as a restart would)."""
    runs = _redis().incr(f"{note}:runs")
    with connection.cursor() as cursor:
        if runs == 1:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        cursor.execute("SELECT 1")
    return "reached the database"


@shared_task(name="tests.ignores_its_soft_limit", soft_time_limit=1, time_limit=2)
def ignores_its_soft_limit(note: str) -> None:
    """Swallows the soft time limit and keeps going, so the hard limit kills its process."""
    _redis().incr(f"{note}:runs")
    try:
        time.sleep(10)
    except SoftTimeLimitExceeded:
        time.sleep(10)


@shared_task(name="tests.overruns", soft_time_limit=1, time_limit=10)
def overruns(key: str) -> None:
    """Waits on the network (a Redis BLPOP nobody answers) far past its soft time limit."""
    _redis().blpop([key], timeout=30)


# Chaos tests slow the invoice down so they can kill a worker in the middle of
# it: TEST_SLOW_INVOICE_SECONDS in a worker's environment makes every render
# mark `invoice-rendering:<order pk>` in the control Redis, then wait.
@worker_process_init.connect
def _slow_down_invoices(**kwargs):
    delay = float(os.environ.get("TEST_SLOW_INVOICE_SECONDS", "0"))
    if not delay:
        return
    from reports.services import invoices as invoice_services

    render = invoice_services.render_invoice

    def slow_render(order):
        _redis().set(f"invoice-rendering:{order.pk}", "1")
        time.sleep(delay)
        return render(order)

    invoice_services.render_invoice = slow_render


# Tests of a bug in rendering set `invoice-render-fails:<order e-mail>` in the control
# Redis: that order's invoice then raises, as a renderer bug or bad data would.
@worker_process_init.connect
def _fail_marked_invoices(**kwargs):
    from reports.services import invoices as invoice_services

    render = invoice_services.render_invoice

    def render_or_fail(order):
        try:
            marked = _redis().get(f"invoice-render-fails:{order.email}")
        except redis.RedisError:  # the switch's Redis is down: render as usual
            marked = None
        if marked:
            raise ZeroDivisionError("a bug in the invoice renderer (test switch)")
        return render(order)

    invoice_services.render_invoice = render_or_fail


# Tests of a charge that overruns its soft time limit set `charge-stalls:<order public id>`
# in the control Redis: that order's next charge, once the gateway has taken it, waits on
# the network (a BLPOP nobody answers) past the limit, as a starved worker would.
@worker_process_init.connect
def _stall_marked_charges(**kwargs):
    from orders import gateway

    charge = gateway.charge

    def charge_then_stall(**request):
        result = charge(**request)
        switch = f"charge-stalls:{request['reference']}"
        try:
            marked = _redis().delete(switch)
        except redis.RedisError:  # the switch's Redis is down: answer as usual
            marked = 0
        if marked:
            _redis().blpop([f"{switch}:never"], timeout=60)
        return result

    gateway.charge = charge_then_stall


@shared_task(name="tests.records_its_worker", bind=True, soft_time_limit=10, time_limit=20)
def records_its_worker(self, note: str) -> str:
    """Writes the hostname of the worker that ran it to the switch `note`."""
    _redis().set(note, self.request.hostname)
    return self.request.hostname
