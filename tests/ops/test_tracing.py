"""One order, one trace: checkout -> charge -> gateway HTTP -> e-mail and invoice.

The OpenTelemetry SDK's in-memory exporter collects the spans of this
process, which runs the Django test client, the sandbox (live server) and a
real Celery worker (Celery's embedded test worker, in a thread) consuming
a Redis of its own. The outbox stores the checkout's traceparent, so even a
publish by the relay after a broker outage continues the checkout's trace.
"""

import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from opentelemetry.trace import SpanKind

from jobs.models import OutboxMessage
from jobs.services.outbox import relay_outbox
from orders.models import Order
from project.celery import app as celery_app
from storefront.progress import order_progress
from tests.chaos.conftest import use_broker
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for
from tests.processes import free_port

# Runs a real Celery worker in this process (not for `make test-fast`).
pytestmark = pytest.mark.worker

CHARGE = "run/orders.charge_payment"
STAGE_TWO = ("run/notifications.send_order_confirmation", "run/reports.generate_invoice_pdf")


@pytest.fixture
def traced_worker(spans, private_redis, transactional_db, live_server, settings):
    settings.PAYMENT_GATEWAY_URL = f"{live_server.url}/sandbox/gateway"
    settings.ORDERLY_LOCK_REDIS_URL = private_redis.url
    settings.ORDERLY_OUTBOX_GRACE_SECONDS = 0
    spans.clear()
    with start_worker(celery_app, pool="solo", perform_ping_check=False,
                      queues=list(settings.ORDERLY_QUEUES)) as worker:  # fmt: skip
        yield worker


def checkout(client) -> Order:
    product = ProductFactory(stock=5)
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.get(public_id=response.url.split("/")[-2])


def wait_until_final(order: Order):
    wait_for(lambda: order_progress(order)["final"], timeout=40, what=f"{order.number} final")


def finished(spans, name: str, *, count: int = 1):
    """Wait until `count` finished spans called `name` exist; return them."""
    return wait_for(
        lambda: (
            len(found := [s for s in spans.get_finished_spans() if s.name == name]) >= count
            and found
        ),
        timeout=20,
        what=f"{count} span(s) {name}",
        diagnostics=lambda: sorted({s.name for s in spans.get_finished_spans()}),
    )


def ancestors(span, spans) -> list[str]:
    by_id = {s.context.span_id: s for s in spans.get_finished_spans()}
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def checkout_trace_id(spans) -> int:
    servers = [
        s for s in spans.get_finished_spans()
        if s.kind == SpanKind.SERVER and s.attributes.get("http.method", "POST") == "POST"
        and "checkout" in (s.attributes.get("http.route") or s.name)
    ]  # fmt: skip
    assert len(servers) == 1, [(s.name, dict(s.attributes)) for s in spans.get_finished_spans()]
    return servers[0].context.trace_id


def test_one_order_makes_one_trace_from_checkout_to_email_and_invoice(client, traced_worker, spans):
    order = checkout(client)
    wait_until_final(order)
    [charge] = finished(spans, CHARGE)
    stage_two = [finished(spans, name)[0] for name in STAGE_TWO]

    trace_id = checkout_trace_id(spans)
    assert charge.context.trace_id == trace_id
    gateway = [
        s for s in spans.get_finished_spans()
        if s.kind == SpanKind.CLIENT and s.context.trace_id == trace_id
        and "sandbox/gateway" in str(s.attributes.get("http.url") or s.attributes.get("url.full"))
    ]  # fmt: skip
    # The checkout asks the gateway about the card token; the charge task charges it.
    assert any(ancestors(s, spans) == ["POST checkout/"] for s in gateway)
    assert any(CHARGE in ancestors(s, spans) for s in gateway)
    for span in stage_two:
        assert span.context.trace_id == trace_id
        # Stage 2 continues the payment's trace: the charge is among its ancestors.
        assert CHARGE in ancestors(span, spans), ancestors(span, spans)
    # Both outbox rows (stage 1 by the checkout, stage 2 by the charge) carry the trace.
    rows = OutboxMessage.objects.filter(reference=f"order:{order.public_id}")
    assert [row.traceparent.split("-")[1] for row in rows] == [format(trace_id, "032x")] * 2


def test_the_relay_publishing_after_a_broker_outage_continues_the_checkouts_trace(
    client, traced_worker, spans
):
    working_broker = celery_app.conf.broker_url
    use_broker(f"redis://127.0.0.1:{free_port()}/0")  # down while the shopper checks out
    order = checkout(client)
    use_broker(working_broker)
    [row] = OutboxMessage.objects.filter(sent_at__isnull=True)
    trace_id = checkout_trace_id(spans)
    assert row.traceparent.split("-")[1] == format(trace_id, "032x")

    celery_app.send_task("jobs.relay_outbox")  # what beat sends every 10 s
    wait_until_final(order)
    [relay] = finished(spans, "run/jobs.relay_outbox")
    [charge] = finished(spans, CHARGE)
    assert relay.context.trace_id != trace_id
    assert charge.context.trace_id == trace_id
    for name in STAGE_TWO:
        assert finished(spans, name)[0].context.trace_id == trace_id


def test_a_malformed_traceparent_on_a_row_starts_a_new_trace_and_the_task_still_runs(
    traced_worker, spans
):
    row = OutboxMessage.objects.create(
        signature={"task": "jobs.relay_outbox", "args": [], "kwargs": {}, "options": {},
                   "subtask_type": None, "immutable": False},
        traceparent="00-not-a-trace-context-01",
    )  # fmt: skip
    assert relay_outbox(grace_seconds=0) == 1  # publishes the row, inside its (bad) context
    row.refresh_from_db()
    assert row.sent_at is not None
    [run] = finished(spans, "run/jobs.relay_outbox")
    assert run.context.trace_id != 0
    assert ancestors(run, spans) == ["apply_async/jobs.relay_outbox"]


def test_a_malformed_traceparent_header_on_a_message_starts_a_new_trace_and_the_task_runs(
    traced_worker, spans
):
    task_id = str(uuid.uuid4())
    message = celery_app.amqp.as_task_v2(task_id, "jobs.relay_outbox", args=(), kwargs={})
    headers = {**message.headers, "traceparent": "00-zzzz-garbage-01"}
    with celery_app.producer_or_acquire() as producer:
        # Published by hand, past the instrumented publish that would overwrite the header.
        producer.publish(message.body, exchange="", routing_key="default", headers=headers,
                         serializer="json", **message.properties)  # fmt: skip
    [run] = finished(spans, "run/jobs.relay_outbox")
    assert run.parent is None and run.context.trace_id != 0
    assert run.status.is_ok
