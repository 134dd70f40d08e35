"""A checkout, a decline and a pay-again leave the card number nowhere Orderly keeps or sends data.

Over HTTP (the Django test client for the shop, the live server for the
gateway), with a real Celery worker (Celery's embedded test worker, in this
process, on a Redis of its own that is both broker and lock store), so every
log record, e-mail and span of the whole pipeline is here to search. The
card numbers go to the gateway's tokenization endpoint only, as a browser's
script sends them; the browser version is in tests/e2e/test_security_headers.py.

Searched: every row of every table but the sandbox app's (those are the
gateway's own storage, its vault, which keeps the number as a real gateway
does), sessions decoded, every key of the Redis (message bodies decoded),
log records, e-mails, spans and /metrics.
"""

import base64
import contextlib
import json

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse

from orders.models import Order
from project.celery import app as celery_app
from storefront.progress import order_progress
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT, tokenize, wait_for

# Runs a real Celery worker in this process (not for `make test-fast`).
pytestmark = pytest.mark.worker

DECLINED = "4000000000000002"
ANOTHER = "5555555555554444"


def spellings(number: str) -> list[str]:
    return [number, " ".join(number[i : i + 4] for i in range(0, len(number), 4))]


CARD_NUMBERS = [*spellings(DECLINED), *spellings(ANOTHER)]


def found(text: str) -> list[str]:
    return [number for number in CARD_NUMBERS if number in text]


@pytest.fixture
def fresh_control_mailbox():
    """After the private Redis is gone, let Celery's control mailbox make a new producer pool.

    /metrics asks the workers through it, which caches the private broker's
    pool; the lane's session worker is asked through it later.
    """
    yield
    with contextlib.suppress(AttributeError):  # never made: nothing to drop
        del celery_app.control.mailbox.producer_pool


@pytest.fixture
def pipeline(spans, private_redis, gateway, settings):
    settings.ORDERLY_LOCK_REDIS_URL = private_redis.url
    settings.ORDERLY_OUTBOX_GRACE_SECONDS = 0
    settings.ORDERLY_METRICS_TOKEN = "scrape-secret"
    spans.clear()
    with start_worker(celery_app, pool="solo", perform_ping_check=False,
                      queues=list(settings.ORDERLY_QUEUES)) as worker:  # fmt: skip
        yield worker


def database_text(*, apps_left_out=("sandbox",)) -> str:
    """Every row of every table (but those of `apps_left_out`) as text, sessions decoded."""
    rows = []
    for model in apps.get_models():
        if model._meta.app_label in apps_left_out or not model._meta.managed:
            continue
        rows.extend(repr(row) for row in model.objects.values())
    rows.extend(json.dumps(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(rows)


def redis_text(url: str) -> str:
    """Every key and value of the Redis at `url`, a kombu message's base64 body decoded."""
    client = redis.Redis.from_url(url)
    parts = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key)]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [*client.hkeys(key), *client.hvals(key)]
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = client.zrange(key, 0, -1)
        else:
            values = []
        parts.append(key.decode("utf-8", "replace"))
        for value in values:
            text = value.decode("utf-8", "replace")
            parts.append(text)
            try:
                body = json.loads(text).get("body", "")
                parts.append(base64.b64decode(body).decode("utf-8", "replace"))
            except (ValueError, AttributeError, TypeError):
                pass
    return "\n".join(parts)


def span_text(spans) -> str:
    return "\n".join(
        f"{span.name} {dict(span.attributes or {})} "
        + " ".join(f"{event.name} {dict(event.attributes or {})}" for event in span.events)
        for span in spans.get_finished_spans()
    )


def test_checkout_decline_and_pay_again_leave_the_card_number_in_none_of_orderlys_stores(
    fresh_control_mailbox, client, pipeline, gateway, spans, private_redis, caplog
):
    caplog.set_level("DEBUG")
    product = ProductFactory(stock=5)
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(
        reverse("orders:checkout"), {**CHECKOUT, "payment_method": tokenize(gateway, DECLINED)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    wait_for(lambda: mail.outbox, timeout=40, what="the decline's e-mail to the shopper")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED

    response = client.post(
        reverse("orders:pay_again", args=[order.public_id]),
        {"payment_method": tokenize(gateway, " ".join(spellings(ANOTHER)[1:]))},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    wait_for(
        lambda: Order.objects.get().status == Order.Status.PAID and order_progress(order)["final"],
        timeout=40,
        what="the pay-again to be paid, e-mailed and invoiced",
    )
    order.refresh_from_db()
    assert (order.payment.card_last4, order.payment.card_brand) == ("4444", "mastercard")
    metrics = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert metrics.status_code == 200

    # The search sees what it must: the gateway's vault holds both numbers.
    assert set(found(database_text(apps_left_out=()))) >= {DECLINED, ANOTHER}
    assert found(database_text()) == [], "Orderly's database"
    assert found(redis_text(private_redis.url)) == [], "Redis (broker and locks)"
    assert found(caplog.text) == [], "log output"
    assert len(mail.outbox) >= 2
    assert found("\n".join(str(m.message()) for m in mail.outbox)) == [], "e-mail"
    assert spans.get_finished_spans()
    assert found(span_text(spans)) == [], "traces"
    assert found(metrics.content.decode()) == [], "/metrics"
