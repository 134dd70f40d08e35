"""Paying again after a decline: the same order, a new charge, stock reserved again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.errors import OutOfStock
from inventory.models import Product
from jobs.models import OutboxMessage
from orders import services
from orders.errors import CannotPayAgain
from orders.models import Order, Payment
from tests.factories import ProductFactory, create_order
from tests.helpers import sandbox_payment_method

pytestmark = pytest.mark.django_db

ANOTHER_CARD = "5555555555554444"


def declined_order(stock=5, quantity=2, declined_minutes_ago=1):
    mug = ProductFactory(name="Stoneware mug", stock=stock)
    order = create_order({mug: quantity}, status=Order.Status.CANCELLED)
    Payment.objects.filter(order=order).update(
        failure_message="Your card was declined.",
        settled_at=timezone.now() - timedelta(minutes=declined_minutes_ago),
    )
    return order, mug


def snapshot(order):
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    stock = {item.product_id: item.product.stock for item in order.items.select_related("product")}
    return order.status, payment.status, payment.idempotency_key, stock


def test_paying_again_keeps_the_order_reserves_its_items_and_starts_a_new_charge():
    order, mug = declined_order(stock=5, quantity=2)
    old_key = Payment.objects.get(order=order).idempotency_key

    payment = services.pay_again(
        order_id=order.pk, payment_method=sandbox_payment_method(ANOTHER_CARD)
    )

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and order.cancel_reason == ""
    assert Order.objects.count() == 1
    assert payment.status == Payment.Status.PENDING
    assert payment.idempotency_key != old_key
    assert payment.idempotency_key.startswith(f"order-{order.public_id}-charge-")
    assert (payment.card_last4, payment.attempts, payment.failure_message) == ("4444", 0, "")
    assert payment.card_brand == "mastercard" and payment.payment_method.startswith("pm_")
    assert Product.objects.get(pk=mug.pk).stock == 3
    outbox = OutboxMessage.objects.get(reference=f"order:{order.public_id}")
    assert "orders.charge_payment" in str(outbox.signature)


@pytest.mark.parametrize(
    ("payment_status", "message"),
    [
        (Payment.Status.SUCCEEDED, "already paid"),
        (Payment.Status.PENDING, "already in progress"),  # e.g. a second click
        (Payment.Status.FAILED, "can no longer be paid"),  # the gateway failed for good
    ],
)
def test_only_a_declined_order_can_be_paid_again(payment_status, message):
    order, _ = declined_order()
    Payment.objects.filter(order=order).update(status=payment_status)
    before = snapshot(order)

    with pytest.raises(CannotPayAgain, match=message):
        services.pay_again(order_id=order.pk, payment_method=sandbox_payment_method(ANOTHER_CARD))

    assert snapshot(order) == before
    assert not OutboxMessage.objects.exists()


def test_a_decline_older_than_the_unpaid_order_limit_cannot_be_paid_again(settings):
    settings.ORDERLY_ABANDONED_ORDER_SECONDS = 30 * 60
    order, _ = declined_order(declined_minutes_ago=31)
    before = snapshot(order)

    with pytest.raises(CannotPayAgain, match="Please place a new order"):
        services.pay_again(order_id=order.pk, payment_method=sandbox_payment_method(ANOTHER_CARD))

    assert snapshot(order) == before


def test_items_sold_out_since_the_decline_are_named_and_nothing_changes():
    order, _ = declined_order(stock=1, quantity=2)
    before = snapshot(order)

    with pytest.raises(OutOfStock, match="Only 1 of Stoneware mug left"):
        services.pay_again(order_id=order.pk, payment_method=sandbox_payment_method(ANOTHER_CARD))

    assert snapshot(order) == before
    assert not OutboxMessage.objects.exists()
