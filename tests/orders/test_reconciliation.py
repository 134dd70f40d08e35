"""Giving up on a charge asks the gateway first; a charge on a cancelled order is refunded.

The gateway is the sandbox over real HTTP (live server); tasks run in this
process through Celery's apply (the worker-backed versions are in tests/chaos).
"""

import time

import pytest
from django.core import mail

from jobs.models import OutboxMessage
from notifications.models import EmailLog
from notifications.services import emails as notifications
from orders import gateway, reconciliation, services
from orders.models import Order, Payment, PaymentEvent
from orders.tasks import charge_payment, confirm_payment
from sandbox.models import GatewayCharge, GatewayRefund
from tests.factories import ProductFactory, create_order
from tests.helpers import sandbox_payment_method, wait_for
from tests.orders.test_abandoned_orders import attempted, published, reload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(live_server, settings):
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"


def place(card="4242424242424242") -> Order:
    product = ProductFactory(stock=5)
    return services.place_order(
        quantities={product.pk: 1}, email="ada@example.com", full_name="Ada Lovelace",
        shipping_address="12 Analytical Row", payment_method=sandbox_payment_method(card),
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


# --- confirming payment: asked again within seconds, not at the next periodic run ---------


def confirmation_lookups(order) -> list[float]:
    """The countdowns of the confirmation lookups the outbox holds for `order`."""
    rows = OutboxMessage.objects.filter(reference=f"order:{order.public_id}").order_by("pk")
    return [
        row.signature["options"]["countdown"]
        for row in rows
        if row.signature["task"] == "orders.confirm_payment"
    ]


def test_an_order_left_confirming_has_its_lookups_scheduled_once_each_below_the_visibility_timeout(
    settings,
):
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    order = place()

    assert last_attempt(order).failed()
    reload(order)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    countdowns = confirmation_lookups(order)
    assert len(countdowns) >= 5
    assert countdowns == sorted(set(countdowns))  # further and further apart
    assert countdowns[0] <= 5  # the first within seconds
    assert countdowns[-1] < settings.CELERY_VISIBILITY_TIMEOUT

    # Still unclear: the periodic job and the lookups leave it confirming, scheduling no more.
    assert reconciliation.reconcile_stale_payments() == {"unknown": 1}
    assert reconciliation.confirm_payment(order_id=order.pk) == "unknown"
    assert confirmation_lookups(order) == countdowns


def test_a_confirmation_lookup_for_an_order_settled_meanwhile_asks_nothing(settings):
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"  # "unknown", if it were asked
    order = place()
    services._settle(order.pk, Payment.Status.SUCCEEDED, charge_id="ch_elsewhere")

    assert confirm_payment.apply(args=(order.pk,)).get() == "nothing to do: the order is paid"
    assert not PaymentEvent.objects.filter(order=order, kind=PaymentEvent.Kind.LOOKUP).exists()


def test_a_confirmation_lookup_cancels_only_when_the_gateway_says_no_charge_and_none_can_land(
    sandbox, settings
):
    order = place()
    attempted(order, seconds_ago=5)  # sent 5 s ago, and the gateway has no charge (yet)
    reconciliation.reconcile_payment(order_id=order.pk, reason="Gave up.")
    reload(order)
    assert order.status == Order.Status.CONFIRMING_PAYMENT  # it may still land

    assert reconciliation.confirm_payment(order_id=order.pk) == "unknown"
    settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS = 0  # the attempt can no longer land
    assert reconciliation.confirm_payment(order_id=order.pk) == "failed"
    reload(order)
    assert order.status == Order.Status.CANCELLED
    assert order.cancel_reason == reconciliation.NOTHING_CHARGED


@pytest.mark.worker
def test_a_charge_the_gateway_took_while_the_answer_was_lost_is_paid_within_seconds(
    sandbox, settings, worker
):
    # As a killed or timed-out charge leaves it: the request reached the gateway,
    # the answer never came back, retries ran out while the gateway was still on it.
    settings.PAYMENT_GATEWAY_TIMEOUT = (1.0, 0.2)  # the slow card answers after 1 s
    order = create_order({ProductFactory(): 1}, status=Order.Status.PENDING_PAYMENT)
    slow_card = sandbox_payment_method("4000000000000259")
    Payment.objects.filter(order=order).update(payment_method=slow_card.token)
    assert last_attempt(order).failed()
    reload(order)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    confirming_since = time.monotonic()

    # No periodic job runs here (no beat): only the scheduled lookups, in the worker.
    wait_for(
        lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID,
        timeout=20,
        what=f"{order.number} to be paid by a confirmation lookup",
        diagnostics=worker.log_tail,
    )
    assert time.monotonic() - confirming_since < 15
    reload(order.payment)
    assert order.payment.status == Payment.Status.SUCCEEDED
    charge = GatewayCharge.objects.get()  # charged once, found by its idempotency key
    assert charge.idempotency_key == order.payment.idempotency_key
    assert order.payment.gateway_charge_id == charge.charge_id
    lookups = PaymentEvent.objects.filter(order=order, kind=PaymentEvent.Kind.LOOKUP)
    assert lookups.last().outcome == "charged"
    wait_for(
        lambda: EmailLog.objects.filter(order=order, kind="order_confirmation").exists(),
        what="the confirmation e-mail of the paid order",
        diagnostics=worker.log_tail,
    )
