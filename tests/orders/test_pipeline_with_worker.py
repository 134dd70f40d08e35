"""The order pipeline end to end: checkout view, real Redis, real worker, sandbox over HTTP."""

from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from pypdf import PdfReader

from inventory.models import Product
from notifications.models import EmailLog
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.models import GatewayCharge, GatewayRequest
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT, checkout_form, wait_for

pytestmark = pytest.mark.worker


def checkout(client, cart: dict[Product, int], **overrides) -> Order:
    for product, quantity in cart.items():
        client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": quantity})
    response = client.post(reverse("orders:checkout"), checkout_form(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.get(public_id=response.url.split("/")[-2])


def progress(client, order):
    return client.get(reverse("orders:status", args=[order.public_id])).json()


def wait_until_final(client, order, worker, timeout=40):
    return wait_for(
        lambda: (data := progress(client, order))["final"] and data,
        timeout=timeout,
        what=f"every step of {order.number} to be final",
        diagnostics=worker.log_tail,
    )


def test_paid_order_gets_one_charge_one_email_and_an_invoice(client, worker):
    mug = ProductFactory(name="Stoneware mug", price="12.00", stock=5)
    beans = ProductFactory(name="Kenya AA beans", price="14.20", stock=5)

    order = checkout(client, {mug: 2, beans: 1})

    data = wait_until_final(client, order, worker)
    assert [step["state"] for step in data["steps"]] == ["done", "done", "done"]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment.status == Payment.Status.SUCCEEDED
    assert GatewayCharge.objects.filter(idempotency_key=order.payment.idempotency_key).count() == 1

    assert EmailLog.objects.filter(order=order).count() == 1
    [message] = [m for m in worker.sent_mail() if order.number in m["Subject"]]
    assert message["To"] == CHECKOUT["email"]
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert "Stoneware mug" in parts["text/plain"] and "Stoneware mug" in parts["text/html"]

    invoice = Invoice.objects.get(order=order)
    with default_storage.open(invoice.file.name, "rb") as stored:
        text = "".join(page.extract_text() for page in PdfReader(BytesIO(stored.read())).pages)
    assert order.number in text
    assert "Stoneware mug" in text and "Kenya AA beans" in text
    assert "38.20" in text  # 2 x 12.00 + 14.20

    download = client.get(data["steps"][2]["url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_declined_card_cancels_order_releases_stock_and_tells_the_shopper(client, worker):
    mug = ProductFactory(stock=4)

    order = checkout(client, {mug: 3}, card_number="4000 0000 0000 0002")
    mug.refresh_from_db()
    assert mug.stock == 1  # reserved at checkout

    data = wait_until_final(client, order, worker)
    states = {step["name"]: step["state"] for step in data["steps"]}
    assert states == {
        "payment": "failed",
        "email": "done",
        "invoice": "skipped",
    }
    assert "declined" in data["steps"][0]["detail"]
    order.refresh_from_db()
    mug.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert mug.stock == 4
    assert list(EmailLog.objects.filter(order=order).values_list("kind", flat=True)) == [
        EmailLog.Kind.PAYMENT_FAILED
    ]
    assert not Invoice.objects.filter(order=order).exists()
    page = client.get(order.get_absolute_url())
    assert "declined" in page.content.decode()


def test_gateway_unavailable_twice_is_retried_until_the_charge_succeeds(client, worker):
    order = checkout(client, {ProductFactory(): 1}, card_number="4000000000000119")

    data = wait_until_final(client, order, worker)

    assert [step["state"] for step in data["steps"]] == ["done", "done", "done"]
    key = order.payment.idempotency_key
    assert list(
        GatewayRequest.objects.filter(idempotency_key=key)
        .order_by("pk")
        .values_list("status_code", flat=True)
    ) == [503, 503, 201]
    assert GatewayCharge.objects.filter(idempotency_key=key).count() == 1
    order.payment.refresh_from_db()
    assert order.payment.attempts == 3


def test_every_pipeline_task_delivered_again_has_no_second_effect(client, worker):
    from celery import group

    from notifications.tasks import send_order_confirmation
    from orders.tasks import charge_payment
    from reports.tasks import generate_invoice_pdf

    order = checkout(client, {ProductFactory(): 1})
    wait_until_final(client, order, worker)

    # Two more deliveries of each step, running concurrently on the worker. The
    # steps store no result (their TaskAttempt rows are the record); these ask for one.
    duplicates = group(
        task.si(order.pk).set(ignore_result=False)
        for task in (charge_payment, send_order_confirmation, generate_invoice_pdf)
        for _ in range(2)
    ).apply_async()
    duplicates.get(timeout=30)

    key = order.payment.idempotency_key
    assert GatewayCharge.objects.filter(idempotency_key=key).count() == 1
    assert GatewayRequest.objects.filter(idempotency_key=key).count() == 1  # settled: no call
    assert EmailLog.objects.filter(order=order).count() == 1
    assert len([m for m in worker.sent_mail() if order.number in m["Subject"]]) == 1
    assert Invoice.objects.filter(order=order).count() == 1
    _, files = default_storage.listdir("invoices")
    assert [name for name in files if name.startswith(str(order.public_id))] == [
        f"{order.public_id}.pdf"
    ]
