"""The benchmark's checkout variants do what bench/run.py says they do."""

from django.urls import reverse

from bench.checkout_variants import variant_installed
from jobs.models import OutboxMessage
from notifications.models import EmailLog
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.models import GatewayCharge
from tests.factories import ProductFactory
from tests.helpers import checkout_form


def checkout(client):
    product = ProductFactory()
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    assert client.post(reverse("orders:checkout"), checkout_form()).status_code == 302
    return Order.objects.get()


def test_floor_writes_the_order_and_enqueues_nothing(client, gateway):
    with variant_installed("floor"):
        order = checkout(client)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert Payment.objects.filter(order=order).exists()
    assert not OutboxMessage.objects.exists()


def test_inline_charges_emails_and_invoices_inside_the_request(client, gateway):
    with variant_installed("inline"):
        order = checkout(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert GatewayCharge.objects.count() == 1
    assert EmailLog.objects.filter(order=order).count() == 1
    assert Invoice.objects.filter(order=order).exists()
    assert not OutboxMessage.objects.exists()


def test_orderly_is_the_shops_own_checkout_and_publishes_the_pipeline(client, gateway):
    with variant_installed("orderly"):
        order = checkout(client)
    assert OutboxMessage.objects.filter(reference=f"order:{order.public_id}").exists()


def test_a_variant_installed_for_the_process_stays_installed():
    import gc

    from bench import checkout_variants
    from orders import services

    shop_place_order = services.place_order
    try:
        checkout_variants.install("floor")
        gc.collect()
        assert services.publish_on_commit is checkout_variants._publish_nothing
    finally:
        while checkout_variants._installed:
            checkout_variants._installed.pop().__exit__(None, None, None)
    assert services.place_order is shop_place_order
