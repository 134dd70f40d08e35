"""Giving up on a charge asks the gateway first; a charge on a cancelled order is refunded.

The gateway is the sandbox over real HTTP (live server); tasks run in this
process through Celery's apply (the worker-backed versions are in tests/chaos).
"""

import pytest
from django.core import mail

from notifications.services import emails as notifications
from orders import gateway, reconciliation, services
from orders.models import Order, Payment, PaymentEvent
from orders.tasks import charge_payment
from sandbox.models import GatewayCharge, GatewayRefund
from tests.factories import ProductFactory
from tests.helpers import wait_for
from tests.orders.test_abandoned_orders import attempted, published, reload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(live_server, settings):
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"


def place(card="4242424242424242") -> Order:
    product = ProductFactory(stock=5)
    return services.place_order(
        quantities={product.pk: 1}, email="ada@example.com", full_name="Ada Lovelace",
        shipping_address="12 Analytical Row", card_number=card,
    )  # fmt: skip


def last_attempt(order):
    """Run the charge task as its final retry would run (retries exhausted)."""
    return charge_payment.apply(args=(order.pk,), retries=charge_payment.max_retries)


def test_retries_exhausted_after_a_timeout_settle_as_paid_once_the_gateway_answers(
    sandbox, settings
):
    settings.PAYMENT_GATEWAY_TIMEOUT = (1.0, 0.2)  # the slow card answers after 1 s
    order = place(card="4000000000000259")

    result = last_attempt(order)

    # The charge may still be going through: not cancelled, not failed.
    assert result.failed()
    reload(order, order.payment)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    assert order.payment.status == Payment.Status.PENDING
    assert not published(order, "notifications.send_payment_failed_email")
    events = list(PaymentEvent.objects.filter(order=order).values_list("kind", "outcome"))
    assert events[:2] == [("attempt", "sent"), ("attempt", "temporary_error")]
    # "In progress" at the gateway, or not there yet while the attempt is this recent.
    assert events[-1] == ("lookup", "unknown")
    assert "settled" not in {kind for kind, _ in events}

    wait_for(lambda: GatewayCharge.objects.exists(), timeout=5, what="the slow charge to land")
    settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS = 0
    assert reconciliation.reconcile_stale_payments() == {"succeeded": 1}
    reload(order)
    assert order.status == Order.Status.PAID
    assert GatewayCharge.objects.count() == 1


def test_retries_exhausted_on_an_unreachable_gateway_never_cancel(settings):
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    order = place()

    assert last_attempt(order).failed()

    reload(order)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    assert PaymentEvent.objects.filter(order=order, kind="lookup", outcome="unknown").exists()


def test_charge_delivered_again_for_an_order_cancelled_meanwhile_refunds_and_tells_the_shopper(
    sandbox,
):
    order = place()
    attempted(order, charge_at_gateway=True)  # charged, but the worker died before it knew
    # Cancelled meanwhile without asking the gateway (as before reconciliation existed).
    services._settle(order.pk, Payment.Status.FAILED, failure_message="Not paid in time.")
    reload(order)
    assert order.status == Order.Status.CANCELLED

    assert charge_payment.apply(args=(order.pk,)).get() == "refunded"
    assert charge_payment.apply(args=(order.pk,)).get() == "refunded"  # a third delivery

    reload(order, order.payment)
    assert order.status == Order.Status.CANCELLED
    assert order.payment.status == Payment.Status.REFUNDED
    refund = GatewayRefund.objects.get()
    assert order.payment.gateway_refund_id == refund.refund_id
    assert refund.charge.idempotency_key == order.payment.idempotency_key
    assert GatewayCharge.objects.count() == 1  # the card was never charged again
    assert published(order, "notifications.send_payment_refunded_email")
    assert ("refund", "refunded") in PaymentEvent.objects.filter(order=order).values_list(
        "kind", "outcome"
    )

    notifications.send_payment_refunded_email(order_id=order.pk)
    (message,) = mail.outbox
    assert "refunded" in message.subject
    assert "refunded that charge in full" in " ".join(message.body.split())
    assert refund.refund_id in message.body


def test_a_refund_the_gateway_cannot_take_now_stays_due_and_is_retried(sandbox, settings):
    order = place()
    attempted(order, charge_at_gateway=True)
    services._settle(order.pk, Payment.Status.FAILED, failure_message="Not paid in time.")
    charge_id = GatewayCharge.objects.get().charge_id
    services._settle(order.pk, Payment.Status.SUCCEEDED, charge_id=charge_id)  # the late answer
    reload(order.payment)
    assert order.payment.status == Payment.Status.REFUND_DUE

    live = settings.PAYMENT_GATEWAY_URL
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    assert reconciliation.reconcile_stale_payments() == {"refund_due": 1}
    assert PaymentEvent.objects.filter(order=order, outcome="refund_failed").exists()

    settings.PAYMENT_GATEWAY_URL = live
    assert reconciliation.reconcile_stale_payments() == {"refunded": 1}
    assert GatewayRefund.objects.count() == 1


def test_find_charge_is_the_only_question_asked_for_a_cancelled_order(sandbox):
    order = place()
    services._settle(order.pk, Payment.Status.FAILED, failure_message="Cancelled.")
    assert charge_payment.apply(args=(order.pk,)).get() == "failed"
    assert not GatewayCharge.objects.exists()
    assert gateway.find_charge(idempotency_key=order.payment.idempotency_key).outcome == "none"
