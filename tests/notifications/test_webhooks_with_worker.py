"""Webhooks end to end: checkout, real Redis, real worker (webhooks queue), a local receiver."""

import json
import time

import pytest
from django.db import transaction
from django.urls import reverse

from jobs.models import DeadLetter
from notifications.models import WebhookDelivery
from notifications.services import webhooks
from notifications.services.webhooks import emit_order_event
from orders.models import Order
from tests.factories import ProductFactory, create_order
from tests.helpers import checkout_form, wait_for

from .conftest import standard_webhooks_verify

pytestmark = pytest.mark.worker


def checkout(client, product) -> Order:
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.get(public_id=response.url.split("/")[-2])


def dispatching_due_until(condition):
    """Stand in for beat: dispatch due deliveries while waiting for `condition`."""

    def check():
        webhooks.dispatch_due()
        return condition()

    return check


def test_paid_order_sends_signed_created_paid_and_invoiced_events(client, worker, receiver):
    endpoint = webhooks.create_endpoint(url=receiver.url, event_types=list(webhooks.EVENT_TYPES))

    order = checkout(client, ProductFactory())

    data = wait_for(
        lambda: (
            (d := client.get(reverse("orders:status", args=[order.public_id])).json())["final"]
            and d
        ),
        timeout=40,
        what="every step to be final",
        diagnostics=worker.log_tail,
    )
    assert {step["state"] for step in data["steps"]} == {"done"}
    # The shopper's steps do not wait for webhooks (they are the shop's business).
    wait_for(
        lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 3,
        what="the three deliveries to succeed",
        diagnostics=worker.log_tail,
    )
    events = sorted(json.loads(request.body)["type"] for request in receiver.received)
    assert events == ["order.created", "order.invoiced", "order.paid"]
    for request in receiver.received:
        assert standard_webhooks_verify(
            secret=endpoint.secret, headers=request.headers, body=request.body
        )
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_503_is_retried_by_the_due_dispatcher_until_it_succeeds(worker, receiver):
    receiver.respond(503, 503)
    webhooks.create_endpoint(url=receiver.url, event_types=["order.paid"])
    with transaction.atomic():
        [delivery] = emit_order_event(
            order=create_order({ProductFactory(): 1}), event_type="order.paid"
        )

    wait_for(
        dispatching_due_until(
            lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="succeeded").exists()
        ),
        timeout=30,
        what="the delivery to succeed after two 503s",
        diagnostics=worker.log_tail,
    )
    assert [a.status_code for a in delivery.attempts_log.all()] == [503, 503, 200]
    assert not DeadLetter.objects.filter(task_name="notifications.deliver_webhook").exists()


def test_exhausted_retries_write_one_dead_letter(worker, receiver):
    receiver.default = (503, {})
    webhooks.create_endpoint(url=receiver.url, event_types=["order.paid"])
    with transaction.atomic():
        [delivery] = emit_order_event(
            order=create_order({ProductFactory(): 1}), event_type="order.paid"
        )

    wait_for(
        dispatching_due_until(
            lambda: DeadLetter.objects.filter(task_name="notifications.deliver_webhook").exists()
        ),
        timeout=30,
        what="a dead letter for the exhausted delivery",
        diagnostics=worker.log_tail,
    )
    time.sleep(1)
    webhooks.dispatch_due()
    [letter] = DeadLetter.objects.filter(task_name="notifications.deliver_webhook")
    assert letter.reference == f"webhookdelivery:{delivery.pk}"
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts_log.count() == 4  # the first try and three retries
    assert len(receiver.received) == 4
