"""Cancelling orders left unpaid: stock comes back once, and paid or in-flight charges win."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import OutboxMessage
from orders import services
from orders.models import Order, Payment
from orders.tasks import cancel_abandoned_orders, charge_payment
from tests.factories import ProductFactory
from tests.helpers import documented_defaults

pytestmark = pytest.mark.django_db


def place(product, quantity=2, *, minutes_ago: int) -> Order:
    order = services.place_order(
        quantities={product.pk: quantity},
        email="ada@example.com",
        full_name="Ada Lovelace",
        shipping_address="12 Analytical Row",
        card_number="4242424242424242",
    )
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return order


def reload(*objects):
    for obj in objects:
        obj.refresh_from_db()


def test_order_unpaid_past_the_limit_is_cancelled_and_its_stock_released():
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=settings.ORDERLY_ABANDONED_ORDER_MINUTES + 1)
    reload(mug)
    assert mug.stock == 3

    result = cancel_abandoned_orders()

    assert result == {"cancelled": 1, "left_alone": 0}
    reload(order, mug, order.payment)
    assert order.status == Order.Status.CANCELLED
    assert order.cancel_reason == "Not paid within 30 minutes."
    assert order.payment.status == Payment.Status.FAILED
    assert order.payment.failure_message == "Not paid within 30 minutes."
    assert order.payment.card_number == ""
    assert mug.stock == 5
    # The shopper is told, through the outbox like every other e-mail.
    assert OutboxMessage.objects.filter(
        reference=f"order:{order.public_id}",
        signature__task="notifications.send_payment_failed_email",
    ).exists()


def test_recent_unpaid_order_is_kept():
    mug = ProductFactory(stock=5)
    order = place(mug, minutes_ago=settings.ORDERLY_ABANDONED_ORDER_MINUTES - 1)

    assert cancel_abandoned_orders() == {"cancelled": 0, "left_alone": 0}

    reload(order)
    assert order.status == Order.Status.PENDING_PAYMENT


def test_second_run_cancels_nothing_and_releases_stock_only_once():
    mug = ProductFactory(stock=5)
    place(mug, 2, minutes_ago=60)
    cancel_abandoned_orders()

    assert cancel_abandoned_orders() == {"cancelled": 0, "left_alone": 0}

    reload(mug)
    assert mug.stock == 5


def test_order_paid_while_the_job_ran_stays_paid():
    """The job picked the order, but the charge settled first: settlement wins."""
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=60)
    services._settle(order.pk, Payment.Status.SUCCEEDED, charge_id="ch_late")

    cancelled = services.cancel_abandoned_order(order_id=order.pk, reason="Not paid in time.")

    assert cancelled is False
    reload(order, mug)
    assert order.status == Order.Status.PAID
    assert mug.stock == 3


def test_order_whose_charge_may_be_in_flight_is_left_alone():
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=60)
    Payment.objects.filter(order=order).update(attempts=3, last_attempt_at=timezone.now())

    assert cancel_abandoned_orders() == {"cancelled": 0, "left_alone": 1}

    reload(order)
    assert order.status == Order.Status.PENDING_PAYMENT
    # Once that attempt is surely over, the order goes.
    Payment.objects.filter(order=order).update(
        last_attempt_at=timezone.now() - timedelta(seconds=services.CHARGE_IN_FLIGHT_SECONDS + 1)
    )
    assert cancel_abandoned_orders()["cancelled"] == 1


def test_in_flight_window_outlasts_a_charge_attempt():
    assert charge_payment.time_limit < services.CHARGE_IN_FLIGHT_SECONDS


def test_abandoned_limit_outlasts_every_retry_of_the_charge():
    """An order the charge task is still retrying is never given up on (default settings)."""
    env = documented_defaults()
    base = float(env["ORDERLY_RETRY_BACKOFF_SECONDS"])
    cap = float(env["ORDERLY_RETRY_BACKOFF_MAX_SECONDS"])
    worst_case_retries = sum(
        min(cap, base * 2**retry) + charge_payment.time_limit
        for retry in range(int(env["ORDERLY_RETRY_MAX_RETRIES"]))
    )
    assert worst_case_retries < int(env["ORDERLY_ABANDONED_ORDER_MINUTES"]) * 60
