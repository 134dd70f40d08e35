"""Logs name an order by its reference (ORD-000014), never by its database id.

The checkout view, then its whole pipeline (charge, e-mail, invoice) and a
payment left confirming, run in this process (Celery eager, the sandbox over
HTTP), so every line they log is captured. The orders get ids no other
number on a log line is likely to have.
"""

import logging
import re

import pytest
from django.core.management.color import no_style
from django.db import connection
from django.urls import reverse

from orders.models import Order
from orders.tasks import charge_payment
from project.celery import app as celery_app
from tests.factories import ProductFactory, create_order
from tests.helpers import checkout_form

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_ID = 904517


@pytest.fixture
def distinctive_order_ids():
    """Orders created from here on get ids from FIRST_ID + 1 (SQLite and PostgreSQL)."""
    Order.objects.create(id=FIRST_ID, email="x@example.com", full_name="X", total=0)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Order]):
            cursor.execute(statement)


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def naming_by_id(records, order: Order) -> list[str]:
    """Log lines with `order`'s id standing alone (not inside ORD-000123, a UUID or a number)."""
    alone = re.compile(rf"(?<![\w.:/-]){order.pk}(?![\w.])")
    return [record.getMessage() for record in records if alone.search(record.getMessage())]


def test_no_log_line_names_an_order_by_its_database_id(
    client, caplog, settings, gateway, distinctive_order_ids, eager_celery
):
    caplog.set_level(logging.DEBUG)
    product = ProductFactory(stock=5)
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form())
    paid = Order.objects.get(public_id=response.url.split("/")[-2])
    paid.refresh_from_db()
    assert paid.pk > FIRST_ID and paid.status == Order.Status.PAID  # the pipeline ran

    # And a payment the gateway cannot tell us about: "confirming payment".
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    confirming = create_order({product: 1}, status=Order.Status.PENDING_PAYMENT)
    charge_payment.apply(args=(confirming.pk,), retries=charge_payment.max_retries)
    confirming.refresh_from_db()
    assert confirming.status == Order.Status.CONFIRMING_PAYMENT

    for order in (paid, confirming):
        assert naming_by_id(caplog.records, order) == []
        assert any(order.number in record.getMessage() for record in caplog.records)
