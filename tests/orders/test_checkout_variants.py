"""The benchmark's checkout variants do what bench/run.py says they do."""

import pytest
from django.urls import reverse

from jobs.models import OutboxMessage
from notifications.models import EmailLog
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.models import GatewayCharge
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT


def checkout(client):
    product = ProductFactory()
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    assert client.post(reverse("orders:checkout"), CHECKOUT).status_code == 302
    return Order.objects.get()


@pytest.mark.django_db
def test_floor_writes_the_order_and_enqueues_nothing(client, settings):
    settings.ORDERLY_BENCH_CHECKOUT_MODE = "floor"
    order = checkout(client)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert Payment.objects.filter(order=order).exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_inline_charges_emails_and_invoices_inside_the_request(client, settings, live_server):
    settings.ORDERLY_BENCH_CHECKOUT_MODE = "inline"
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"
    order = checkout(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert GatewayCharge.objects.count() == 1
    assert EmailLog.objects.filter(order=order).count() == 1
    assert Invoice.objects.filter(order=order).exists()
    assert not OutboxMessage.objects.exists()
