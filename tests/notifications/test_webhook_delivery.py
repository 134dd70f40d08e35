"""Webhook deliveries against a real local receiver: signatures, retries, disabling, the log."""

import json
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from jobs.models import OutboxMessage
from jobs.requeue import NothingDone
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.services import webhook_delivery, webhooks
from notifications.services.webhook_delivery import Outcome
from notifications.services.webhooks import emit_order_event
from notifications.webhooks import signing
from storefront.progress import order_progress
from tests.factories import ProductFactory, create_order
from tests.helpers import sandbox_payment_method

from .conftest import standard_webhooks_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return create_order({ProductFactory(price=Decimal("12.00")): 2}, status="paid")


@pytest.fixture
def endpoint(receiver):
    return webhooks.create_endpoint(url=receiver.url, event_types=["order.paid", "order.created"])


def emit(order, event_type="order.paid") -> WebhookDelivery:
    [delivery] = emit_order_event(order=order, event_type=event_type)
    return delivery


def deliver(delivery) -> str:
    delivery.refresh_from_db()
    return webhook_delivery.deliver(delivery_id=delivery.pk, attempt=delivery.attempts)


def test_new_endpoint_gets_a_standard_webhooks_secret(endpoint):
    assert endpoint.secret.startswith("whsec_")
    assert 24 <= len(__import__("base64").b64decode(endpoint.secret[6:])) <= 64


def test_signed_payload_verifies_with_the_reference_package(receiver, endpoint, order):
    delivery = emit(order)

    assert deliver(delivery) == Outcome.SUCCEEDED

    [request] = receiver.received
    assert request.headers["webhook-id"] == delivery.event_id
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    assert standard_webhooks_verify(
        secret=endpoint.secret, headers=request.headers, body=request.body
    )
    payload = json.loads(request.body)
    assert payload["type"] == "order.paid"
    assert payload["data"]["order"]["number"] == order.number
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_modified_body_or_old_timestamp_or_wrong_secret_fails_verification(
    receiver, endpoint, order
):
    deliver(emit(order))
    [request] = receiver.received
    tampered = request.body.replace(b'"paid"', b'"cancelled"')
    assert tampered != request.body
    assert not standard_webhooks_verify(
        secret=endpoint.secret, headers=request.headers, body=tampered
    )
    old = int(request.headers["webhook-timestamp"]) - 3600
    replayed = {
        **request.headers,
        "webhook-timestamp": str(old),
        "webhook-signature": signing.signature(
            secret=endpoint.secret, message_id=request.headers["webhook-id"], timestamp=old,
            body=request.body,
        ),
    }  # fmt: skip
    assert not standard_webhooks_verify(secret=endpoint.secret, headers=replayed, body=request.body)
    assert not standard_webhooks_verify(
        secret=signing.generate_secret(), headers=request.headers, body=request.body
    )


def test_events_go_only_to_active_endpoints_subscribed_to_them(receiver, endpoint, order):
    webhooks.create_endpoint(url=receiver.url, event_types=["order.invoiced"])
    WebhookEndpoint.objects.create(
        url=receiver.url, secret=signing.generate_secret(), event_types=["order.paid"],
        is_active=False,
    )  # fmt: skip

    deliveries = emit_order_event(order=order, event_type="order.paid")

    assert [d.endpoint for d in deliveries] == [endpoint]
    assert (
        OutboxMessage.objects.filter(signature__task="notifications.dispatch_webhooks").count() == 1
    )


def test_deliveries_roll_back_with_the_change_that_caused_them(endpoint, order):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(order)
        raise RuntimeError("the order change failed")

    assert not WebhookDelivery.objects.exists()


def test_503_is_retried_on_the_schedule_then_succeeds(receiver, endpoint, order):
    receiver.respond(503)
    delivery = emit(order)

    assert deliver(delivery) == Outcome.RETRY_SCHEDULED
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.RETRYING
    # ORDERLY_WEBHOOK_RETRY_SCHEDULE in tests is 0.1,0.2,0.3 (+/-20 % jitter).
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=0.12)

    time.sleep(0.15)
    assert webhooks.dispatch_due() == 1  # published to the broker: not consumed here
    assert deliver(delivery) == Outcome.SUCCEEDED

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert [a.status_code for a in delivery.attempts_log.all()] == [503, 200]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # same id on retry
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_retry_after_is_honoured(receiver, endpoint, order):
    receiver.respond((429, {"Retry-After": "120"}))
    delivery = emit(order)

    assert deliver(delivery) == Outcome.RETRY_SCHEDULED

    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=115)


def test_retry_schedule_defaults_stay_close_to_the_documented_one(settings):
    settings.ORDERLY_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
    for attempts, expected in enumerate(settings.ORDERLY_WEBHOOK_RETRY_SCHEDULE, start=1):
        assert 0.8 * expected <= webhook_delivery.retry_delay(attempts=attempts) <= 1.2 * expected
    assert webhook_delivery.retry_delay(attempts=8) is None


def test_410_disables_the_endpoint(receiver, endpoint, order):
    receiver.respond(410)
    delivery = emit(order)

    assert deliver(delivery) == Outcome.GONE

    endpoint.refresh_from_db()
    assert endpoint.is_active is False and endpoint.disabled_at is not None
    assert "410" in endpoint.disabled_reason
    assert emit_order_event(order=order, event_type="order.paid") == []


def test_400_fails_once_without_retry(receiver, endpoint, order):
    receiver.respond(400)
    delivery = emit(order)

    assert deliver(delivery) == Outcome.FAILED

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 400"
    assert webhooks.dispatch_due() == 0
    assert len(receiver.received) == 1


def test_retries_exhaust_after_the_schedule(receiver, endpoint, order):
    receiver.default = (500, {})
    delivery = emit(order)

    outcomes = [deliver(delivery) for _ in range(4)]

    assert outcomes == [Outcome.RETRY_SCHEDULED] * 3 + [Outcome.EXHAUSTED]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts_log.count() == 4
    assert isinstance(deliver(delivery), NothingDone)


def test_redirect_is_not_followed_even_to_a_private_address(receiver, endpoint, order):
    receiver.respond((302, {"Location": "http://10.0.0.1/admin"}))
    delivery = emit(order)

    assert deliver(delivery) == Outcome.FAILED

    delivery.refresh_from_db()
    assert "redirect (302 to http://10.0.0.1/admin) not followed" in delivery.last_error
    assert len(receiver.received) == 1


def test_consecutive_failures_disable_the_endpoint_and_an_operator_can_re_enable_it(
    receiver, endpoint, order, settings
):
    settings.ORDERLY_WEBHOOK_DISABLE_AFTER_FAILURES = 2
    receiver.default = (400, {})
    deliver(emit(order))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 1

    deliver(emit(order, "order.created"))

    endpoint.refresh_from_db()
    assert not endpoint.is_active and "2 failed attempts" in endpoint.disabled_reason
    webhooks.enable_endpoint(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert (
        endpoint.is_active and endpoint.consecutive_failures == 0 and endpoint.disabled_at is None
    )


def test_a_duplicate_task_message_does_not_send_twice(receiver, endpoint, order):
    delivery = emit(order)

    assert webhook_delivery.deliver(delivery_id=delivery.pk, attempt=0) == Outcome.SUCCEEDED
    assert isinstance(webhook_delivery.deliver(delivery_id=delivery.pk, attempt=0), NothingDone)
    assert len(receiver.received) == 1


def test_redeliver_starts_a_new_attempt_cycle(receiver, endpoint, order):
    receiver.respond(400)
    delivery = emit(order)
    deliver(delivery)

    assert webhooks.redeliver(delivery_ids=[delivery.pk]) == 1
    assert deliver(delivery) == Outcome.SUCCEEDED

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_rotated_secret_signs_the_next_request(receiver, endpoint, order):
    old = endpoint.secret
    new = webhooks.rotate_secret(endpoint=endpoint)

    deliver(emit(order))

    [request] = receiver.received
    assert new != old
    assert standard_webhooks_verify(secret=new, headers=request.headers, body=request.body)
    assert not standard_webhooks_verify(secret=old, headers=request.headers, body=request.body)


def test_send_connects_to_the_checked_address_keeping_the_host_name(
    receiver, order, settings, monkeypatch
):
    """Checked before sending, resolved again by requests-hardened, connected to that address."""
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = ["hooks.orderly.test"]
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "hooks.orderly.test":
            lookups.append(host)
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    endpoint = webhooks.create_endpoint(
        url=f"http://hooks.orderly.test:{receiver.port}/in?x=1", event_types=["order.paid"]
    )
    lookups.clear()

    assert deliver(emit(order)) == Outcome.SUCCEEDED

    [request] = receiver.received
    # The check before sending, then requests-hardened's lookup when it picks the
    # connection; the address the second answered is checked again and connected to.
    assert lookups == ["hooks.orderly.test", "hooks.orderly.test"]
    assert request.headers["host"] == f"hooks.orderly.test:{receiver.port}"
    assert request.path == "/in?x=1"
    assert endpoint.deliveries.get().status == WebhookDelivery.Status.SUCCEEDED


def test_webhook_deliveries_never_show_on_the_shoppers_order_page(receiver, endpoint, order):
    """Webhooks are the shop's business: pending or failed, the shopper's steps ignore them."""

    def shopper_view():
        progress = order_progress(order)
        return [step["name"] for step in progress["steps"]], progress["final"]

    before = shopper_view()
    assert before[0] == ["payment", "email", "invoice"]
    delivery = emit(order)
    assert shopper_view() == before  # pending
    receiver.respond(404)
    deliver(delivery)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.FAILED
    assert shopper_view() == before  # failed for good


def test_order_changes_emit_their_events(receiver):
    from orders.reconciliation import reconcile_payment
    from orders.services import place_order

    webhooks.create_endpoint(url=receiver.url, event_types=list(webhooks.EVENT_TYPES))
    product = ProductFactory(stock=3)

    order = place_order(
        quantities={product.pk: 1}, email="ada@example.com", full_name="Ada",
        shipping_address="London", payment_method=sandbox_payment_method("4242424242424242"),
    )  # fmt: skip
    reconcile_payment(order_id=order.pk, reason="gateway down")  # never sent: cancelled

    events = list(
        WebhookDelivery.objects.filter(order=order)
        .order_by("pk")
        .values_list("event_type", flat=True)
    )
    assert events == ["order.created", "order.payment_failed", "order.cancelled"]
    cancelled = WebhookDelivery.objects.get(order=order, event_type="order.cancelled")
    assert cancelled.payload["data"]["order"]["status"] == "cancelled"
