"""Tasks that exist only for tests; the test worker imports them with --include.

They use the shared base task like every Orderly task, so they prove the
base task's retry and dead-letter behaviour in a real worker.
"""

import os
import time

import redis
from celery import shared_task
from celery.signals import worker_process_init

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


# Chaos tests slow the invoice down so they can kill a worker in the middle of
# it: TEST_SLOW_INVOICE_SECONDS in a worker's environment makes every render
# mark `invoice-rendering:<order pk>` in the control Redis, then wait.
@worker_process_init.connect
def _slow_down_invoices(**kwargs):
    delay = float(os.environ.get("TEST_SLOW_INVOICE_SECONDS", "0"))
    if not delay:
        return
    from reports import services as invoice_services

    render = invoice_services.render_invoice

    def slow_render(order):
        _redis().set(f"invoice-rendering:{order.pk}", "1")
        time.sleep(delay)
        return render(order)

    invoice_services.render_invoice = slow_render
