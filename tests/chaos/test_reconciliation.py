"""A worker killed mid-charge, then the abandoned-order job runs before the message comes back.

The dangerous order of events from issue 11, with real processes and every
timer at 1/10 of its shipped value in the same order (the chaos fixture
checks it): the job must ask the gateway, and the money must never stay
with the gateway for a cancelled order.
"""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs.models import TaskAttempt
from notifications.models import EmailLog
from orders.models import Order, Payment, PaymentEvent
from project.celery import app as celery_app
from sandbox.models import GatewayCharge, GatewayRefund, GatewayRequest
from tests.chaos.test_crashes import place_order, wait_until_done
from tests.helpers import wait_for

pytestmark = pytest.mark.worker

SLOW_CARD = "4000000000000259"  # the sandbox answers after 1 s


def test_abandoned_order_job_before_redelivery_settles_with_the_gateway_never_keeps_money(
    client, chaos
):
    first = chaos.worker()
    order = place_order(client, card=SLOW_CARD)
    payment = Payment.objects.get(order=order)
    wait_for(
        lambda: GatewayRequest.objects.filter(idempotency_key=payment.idempotency_key).exists(),
        what="the charge to reach the gateway",
        diagnostics=chaos.logs,
    )
    os.kill(first.process.pid, signal.SIGKILL)  # the main process, mid-charge
    first.process.wait()
    first.replaced = True
    chaos.worker()  # a supervisor restarts it; the message is not back yet

    # The abandoned-order delay has passed (the order is backdated), and the
    # killed attempt is older than the in-flight window, as it would be after
    # 30 minutes: the job is free to give up, if the gateway says so.
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))
    time.sleep(settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS * chaos.timer_scale + 0.5)
    job = celery_app.send_task("orders.cancel_abandoned_orders")
    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=job.id, status="SUCCESS").first(),
        timeout=30,
        what="the abandoned-order job to finish",
        diagnostics=chaos.logs,
    )
    # It ran before the message came back: the killed attempt is the only one.
    assert Payment.objects.get(pk=payment.pk).attempts == 1
    assert "lookup" in PaymentEvent.objects.filter(order=order).values_list("kind", flat=True)

    order.refresh_from_db()
    if order.status == Order.Status.CANCELLED:  # only with the money given back
        wait_for(
            lambda: EmailLog.objects.filter(order=order, kind="payment_refunded").exists(),
            what="the refund notice",
            diagnostics=chaos.logs,
        )
        assert Payment.objects.get(pk=payment.pk).status == Payment.Status.REFUNDED
        assert GatewayRefund.objects.filter(charge__idempotency_key=payment.idempotency_key)
    else:
        assert result.result == '{"succeeded": 1}'  # the gateway had charged: paid
        wait_until_done(order, chaos)
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        assert not GatewayRefund.objects.exists()
        # The message comes back after the (scaled) visibility timeout and
        # finds the payment settled: no second call to the gateway.
        wait_for(
            lambda: TaskAttempt.objects.filter(
                task_name="orders.charge_payment", outcome=TaskAttempt.Outcome.SUCCEEDED
            ).exists(),
            timeout=60,
            what="the killed charge to be delivered again",
            diagnostics=chaos.logs,
        )
        assert Payment.objects.get(pk=payment.pk).attempts == 1
    assert GatewayCharge.objects.filter(idempotency_key=payment.idempotency_key).count() == 1
    assert not EmailLog.objects.filter(order=order, kind="payment_failed").exists()
