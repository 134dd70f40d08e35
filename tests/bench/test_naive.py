"""The seed-naive variant does the same work as Orderly's pipeline, and the bench can see it."""

import datetime as dt

import pytest
from django.utils import timezone

from bench import naive
from bench.load import finished_between, naive_emails, order_times
from jobs.models import OutboxMessage, TaskAttempt
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.models import GatewayCharge
from tests.factories import ProductFactory
from tests.helpers import checkout_form


@pytest.mark.urls("bench.urls")
def test_naive_checkout_then_each_bare_task_charges_mails_and_uploads_the_invoice(
    client,
    gateway,
    s3_bucket,
    settings,
    tmp_path,
    monkeypatch,
):
    s3, bucket = s3_bucket
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    monkeypatch.setattr(naive, "_s3", None)  # a client for this test's S3 server
    published = []
    for task in (naive.naive_charge, naive.naive_email, naive.naive_invoice):
        monkeypatch.setattr(task, "delay", lambda *args, name=task.name: published.append(
            (name, args)))  # fmt: skip
    product = ProductFactory(stock=5)
    since = timezone.now()
    form = checkout_form()
    body = {"product": product.pk, "quantity": 2, "payment_method": form["payment_method"],
            **{k: form[k] for k in ("email", "full_name", "shipping_address")}}  # fmt: skip

    response = client.post("/bench/naive/orders", body, content_type="application/json")

    order = Order.objects.get()
    assert response.json() == {"order_id": order.pk}
    product.refresh_from_db()
    assert product.stock == 3
    assert published == [("bench.naive_charge", (order.pk,))]

    naive.naive_charge.run(order.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    assert GatewayCharge.objects.count() == 1
    assert published[1:] == [("bench.naive_email", (order.pk,)),
                             ("bench.naive_invoice", (order.pk,))]  # fmt: skip

    naive.naive_email.run(order.pk)
    naive.naive_invoice.run(order.pk)
    assert list(naive_emails(tmp_path, since)) == [order.pk]
    key = Invoice.objects.get(order=order).file.name
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"%PDF")
    # What the bench counts as a finished order, and nothing of Orderly's bookkeeping.
    assert all(order_times(since, tmp_path)[order.pk])
    later = timezone.now() + dt.timedelta(seconds=1)
    assert finished_between(since, since, later, naive_mail_dir=tmp_path) == 1
    assert not OutboxMessage.objects.exists()
    assert not TaskAttempt.objects.exists()
