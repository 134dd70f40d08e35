"""Workers killed, stopped and Redis restarted in the middle of the pipeline: nothing lost,
nothing done twice. Every process here is real: workers, beat, Redis, the sandbox over HTTP.
"""

import os
import signal
import threading

import pytest
import redis
import requests
from django.core.management import call_command
from django.urls import reverse

from jobs.models import DeadLetter, OutboxMessage
from notifications.models import EmailLog
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.models import GatewayCharge, GatewayRequest
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def control():
    client = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    yield client
    client.flushdb()


def place_order(client, card="4242424242424242") -> Order:
    product = ProductFactory(stock=100)
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form(card))
    assert response.status_code == 302, response.content.decode()[:1000]
    return Order.objects.get(public_id=response.url.split("/")[-2])


def assert_done_exactly_once(order: Order):
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    key = Payment.objects.get(order=order).idempotency_key
    assert GatewayCharge.objects.filter(idempotency_key=key).count() == 1
    assert EmailLog.objects.filter(order=order, kind=EmailLog.Kind.ORDER_CONFIRMATION).count() == 1
    assert Invoice.objects.filter(order=order).count() == 1


def wait_until_done(order: Order, chaos, timeout=60):
    def done():
        chaos.supervise()
        return (
            Invoice.objects.filter(order=order).exists()
            and EmailLog.objects.filter(order=order).exists()
        )

    wait_for(done, timeout=timeout, what=f"{order.number} to finish", diagnostics=chaos.logs)


# The Procfile runs the I/O-bound queues (payments, webhooks) on gevent: acks_late
# and redelivery must hold on that pool as on prefork.
POOLS = pytest.mark.parametrize("pool", ["prefork", "gevent"])


@POOLS
def test_worker_main_process_killed_during_the_gateway_call_is_redelivered_and_charges_once(
    client, chaos, pool
):
    first = chaos.worker(pool=pool)
    order = place_order(client, card="4000000000000259")  # the gateway takes 1 s to answer
    key = Payment.objects.get(order=order).idempotency_key
    wait_for(
        lambda: GatewayRequest.objects.filter(idempotency_key=key).exists(),
        what="the charge to reach the gateway",
        diagnostics=chaos.logs,
    )

    # SIGKILL the worker's main process (not a pool child) while the charge is
    # in flight: nobody is left to acknowledge the message or requeue it.
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    first.replaced = True  # by the worker started here (chaos.supervise leaves it)
    chaos.worker(pool=pool)

    wait_until_done(order, chaos)
    assert_done_exactly_once(order)
    # The gateway finished the first charge after the worker died; the
    # redelivered task sent the same key and got that charge back.
    assert GatewayRequest.objects.filter(idempotency_key=key).count() == 2
    assert Payment.objects.get(order=order).attempts == 2


def test_a_charge_that_overruns_its_soft_time_limit_is_retried_with_its_key_not_dead_lettered(
    client, chaos, control
):
    """The gateway took the charge, then the attempt ran into its soft limit (3 s here).

    As a worker starved of CPU would: the retry sends the same Idempotency-Key
    and is answered with the charge already taken, so nothing waits for the
    overdue sweep, nothing is dead-lettered, and the card is charged once.
    """
    order = place_order(client)  # no worker yet: the switch is set before the charge runs
    control.set(f"charge-stalls:{order.public_id}", "1")
    worker = chaos.worker()

    wait_until_done(order, chaos)
    assert_done_exactly_once(order)
    assert not DeadLetter.objects.exists(), list(
        DeadLetter.objects.values("task_name", "exception_class", "exception_message")
    )
    key = Payment.objects.get(order=order).idempotency_key
    assert GatewayRequest.objects.filter(idempotency_key=key).count() == 2
    assert Payment.objects.get(order=order).attempts == 2
    assert "overran its soft time limit" in worker.log_path.read_text()


def test_worker_killed_while_rendering_the_invoice_is_redelivered_and_stores_one(
    client, chaos, control
):
    first = chaos.worker(TEST_SLOW_INVOICE_SECONDS="2")
    order = place_order(client)
    wait_for(
        lambda: control.get(f"invoice-rendering:{order.pk}"),
        what="the invoice task to start rendering",
        diagnostics=chaos.logs,
    )

    first.kill()
    assert not Invoice.objects.filter(order=order).exists()
    chaos.worker()

    wait_until_done(order, chaos)
    assert_done_exactly_once(order)


def test_sigterm_during_a_long_task_lets_it_finish_before_the_worker_exits(client, chaos, control):
    first = chaos.worker(TEST_SLOW_INVOICE_SECONDS="2", REMAP_SIGTERM="SIGQUIT")
    order = place_order(client)
    wait_for(
        lambda: control.get(f"invoice-rendering:{order.pk}"),
        what="the invoice task to start rendering",
        diagnostics=chaos.logs,
    )

    first.stop(signal.SIGTERM, timeout=40)  # a deploy: soft shutdown, as make dev and compose

    assert first.process.returncode == 0, chaos.logs()
    assert Invoice.objects.filter(order=order).exists(), "the running task was cut short"
    chaos.worker()  # the next release picks up whatever was still queued
    wait_until_done(order, chaos)
    assert_done_exactly_once(order)


def test_orders_placed_while_redis_is_down_complete_once_it_is_back(client, chaos):
    call_command("setup_periodic_tasks")  # the outbox relay, run by beat
    chaos.worker()
    chaos.beat()
    chaos.redis.stop()

    orders = [place_order(client) for _ in range(3)]

    # The shopper still got an order page; the pipeline waits in the outbox.
    for order in orders:
        page = client.get(order.get_absolute_url())
        assert page.status_code == 200
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 3

    chaos.redis.start()
    for order in orders:
        wait_until_done(order, chaos, timeout=90)
        assert_done_exactly_once(order)
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


@POOLS
def test_redis_restart_during_a_burst_of_orders_loses_nothing(chaos, live_server, pool):
    call_command("setup_periodic_tasks")
    chaos.worker(pool=pool)
    chaos.beat()
    placed: list[str] = []
    errors: list[str] = []

    def shop(count):
        for _ in range(count):
            product = ProductFactory(stock=100)
            session = requests.Session()
            session.get(live_server.url + "/", timeout=10)
            csrf = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
            session.post(
                f"{live_server.url}/cart/add/", {"product_id": product.pk, "quantity": 1, **csrf}
            )
            response = session.post(
                f"{live_server.url}/checkout/", {**checkout_form(), **csrf}, allow_redirects=False
            )
            if response.status_code == 302:
                placed.append(response.headers["Location"].split("/")[-2])
            else:
                errors.append(f"{response.status_code}: {response.text[:300]}")

    burst = threading.Thread(target=shop, args=(12,))
    burst.start()
    wait_for(lambda: len(placed) >= 4, what="the burst to get going", diagnostics=chaos.logs)
    chaos.redis.stop()
    chaos.redis.start()
    burst.join(120)

    assert errors == []
    assert len(placed) == 12
    for public_id in placed:
        order = Order.objects.get(public_id=public_id)
        wait_until_done(order, chaos, timeout=90)
        assert_done_exactly_once(order)
