"""The abandoned-order job: it asks the gateway before giving up, and acts only on a clear answer.

The gateway is the sandbox over real HTTP (live server).
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import OutboxMessage
from orders import gateway, reconciliation, services
from orders.models import Order, Payment, PaymentEvent
from orders.tasks import cancel_abandoned_orders
from sandbox.models import GatewayCharge, GatewayRequest
from tests.factories import ProductFactory
from tests.helpers import sandbox_payment_method

pytestmark = pytest.mark.django_db(transaction=True)

ABANDONED_MINUTES = settings.ORDERLY_ABANDONED_ORDER_SECONDS / 60


@pytest.fixture
def sandbox(live_server, settings):
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"


def place(product, quantity=2, *, minutes_ago: float, card="4242424242424242") -> Order:
    order = services.place_order(
        quantities={product.pk: quantity},
        email="ada@example.com",
        full_name="Ada Lovelace",
        shipping_address="12 Analytical Row",
        payment_method=sandbox_payment_method(card),
    )
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return order


def attempted(order, *, seconds_ago=600, charge_at_gateway=False):
    """As a worker killed during its charge leaves it: one attempt counted, maybe charged."""
    payment = order.payment
    Payment.objects.filter(pk=payment.pk).update(
        attempts=1, last_attempt_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    if charge_at_gateway:
        gateway.charge(
            amount=payment.amount, currency=payment.currency, payment_method=payment.payment_method,
            idempotency_key=payment.idempotency_key, reference=str(order.public_id),
        )  # fmt: skip


def reload(*objects):
    for obj in objects:
        obj.refresh_from_db()


def published(order, task_name) -> bool:
    """Whether `task_name` went into the outbox for this order (alone or in a group)."""
    rows = OutboxMessage.objects.filter(reference=f"order:{order.public_id}")
    return any(task_name in json.dumps(row.signature) for row in rows)


def test_order_never_sent_to_the_gateway_is_cancelled_without_asking(settings):
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"  # would be "unknown" if asked
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=ABANDONED_MINUTES + 1)

    assert cancel_abandoned_orders() == {"failed": 1}

    reload(order, mug, order.payment)
    assert order.status == Order.Status.CANCELLED
    assert order.cancel_reason == "Not paid within 30 minutes."
    assert order.payment.status == Payment.Status.FAILED
    assert mug.stock == 5
    assert published(order, "notifications.send_payment_failed_email")
    event = PaymentEvent.objects.get(order=order)
    assert (event.kind, event.outcome) == ("settled", "not_charged")
    assert "no charge request was ever sent" in event.detail


def test_order_the_gateway_charged_is_paid_not_cancelled(sandbox):
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=ABANDONED_MINUTES + 1)
    attempted(order, charge_at_gateway=True)  # the worker died before it heard the answer

    assert cancel_abandoned_orders() == {"succeeded": 1}

    reload(order, mug, order.payment)
    assert order.status == Order.Status.PAID
    assert order.payment.gateway_charge_id == GatewayCharge.objects.get().charge_id
    assert mug.stock == 3
    assert published(order, "notifications.send_order_confirmation")
    assert not published(order, "notifications.send_payment_failed_email")
    lookup = PaymentEvent.objects.get(order=order, kind="lookup")
    assert lookup.outcome == "charged"


def test_order_the_gateway_confirms_uncharged_is_cancelled_and_the_shopper_told(sandbox):
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=ABANDONED_MINUTES + 1)
    attempted(order)  # sent, but it never reached the gateway

    assert cancel_abandoned_orders() == {"failed": 1}

    reload(order, mug)
    assert order.status == Order.Status.CANCELLED
    assert mug.stock == 5
    assert published(order, "notifications.send_payment_failed_email")
    outcomes = list(PaymentEvent.objects.filter(order=order).values_list("kind", "outcome"))
    assert outcomes == [("lookup", "none"), ("settled", "not_charged")]


@pytest.mark.parametrize(
    "gateway_url",
    [
        "http://127.0.0.1:9/gateway",  # unreachable
        "{live}/sandbox",  # answers an HTML 404: garbage
    ],
)
def test_order_without_a_clear_answer_waits_confirming_payment(live_server, settings, gateway_url):
    settings.PAYMENT_GATEWAY_URL = gateway_url.format(live=live_server.url)
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=ABANDONED_MINUTES + 1)
    attempted(order)

    assert cancel_abandoned_orders() == {"unknown": 1}

    reload(order, mug, order.payment)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    assert order.payment.status == Payment.Status.PENDING
    assert mug.stock == 3  # still reserved: nothing is cancelled on a guess
    assert not published(order, "notifications.send_payment_failed_email")
    lookup = PaymentEvent.objects.get(order=order, kind="lookup")
    assert lookup.outcome == "unknown" and lookup.detail

    # The next run asks again; once the gateway answers, the order settles.
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"
    assert cancel_abandoned_orders() == {"failed": 1}
    reload(order)
    assert order.status == Order.Status.CANCELLED


def test_a_gateway_answer_contradicting_our_record_is_unknown(sandbox):
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=ABANDONED_MINUTES + 1)
    attempted(order)
    gateway.charge(
        amount=Decimal("999.00"), currency="EUR", payment_method=sandbox_payment_method().token,
        idempotency_key=order.payment.idempotency_key, reference=str(order.public_id),
    )  # fmt: skip

    assert cancel_abandoned_orders() == {"unknown": 1}

    reload(order)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    assert "999.00" in PaymentEvent.objects.get(order=order, kind="lookup").detail


def test_recent_unpaid_order_is_left_alone(sandbox):
    mug = ProductFactory(stock=5)
    order = place(mug, minutes_ago=ABANDONED_MINUTES - 1)

    assert cancel_abandoned_orders() == {}

    reload(order)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert not GatewayRequest.objects.exists()


def test_second_run_settles_nothing_and_releases_stock_only_once(sandbox):
    mug = ProductFactory(stock=5)
    place(mug, 2, minutes_ago=60)
    cancel_abandoned_orders()

    assert cancel_abandoned_orders() == {}

    reload(mug)
    assert mug.stock == 5


def test_order_paid_while_the_job_ran_stays_paid(sandbox):
    """The job picked the order, but the charge settled first: settlement wins."""
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=60)
    services._settle(order.pk, Payment.Status.SUCCEEDED, charge_id="ch_late")

    assert reconciliation.reconcile_payment(order_id=order.pk, reason="late") == "succeeded"

    reload(order, mug)
    assert order.status == Order.Status.PAID
    assert mug.stock == 3


def test_order_whose_charge_may_be_in_flight_is_not_cancelled(sandbox):
    mug = ProductFactory(stock=5)
    order = place(mug, 2, minutes_ago=60)
    attempted(order, seconds_ago=1)  # the gateway may not even have it yet

    assert cancel_abandoned_orders() == {"unknown": 1}

    reload(order)
    assert order.status == Order.Status.CONFIRMING_PAYMENT
    # Once that attempt is surely over (and the gateway still has nothing), the order goes.
    attempted(order, seconds_ago=settings.ORDERLY_CHARGE_IN_FLIGHT_SECONDS + 1)
    assert cancel_abandoned_orders() == {"failed": 1}
