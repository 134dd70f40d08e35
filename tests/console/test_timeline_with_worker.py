"""The order timeline from real runs: checkout, real Redis, a real worker, sandbox over HTTP."""

import pytest
from django.urls import reverse

from console.search import order_ids_matching
from console.timeline import order_timeline
from jobs.models import DeadLetter, TaskAttempt
from notifications.services import webhooks
from orders.models import Order
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for
from tests.notifications.conftest import receiver  # noqa: F401 (fixture)

pytestmark = pytest.mark.worker


def checkout(client, **overrides) -> Order:
    client.post(reverse("orders:cart_add"), {"product_id": ProductFactory().pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.get(public_id=response.url.split("/")[-2])


def wait_until_final(client, order, worker):
    wait_for(
        lambda: client.get(reverse("orders:status", args=[order.public_id])).json()["final"],
        timeout=40,
        what=f"every step of {order.number} to be final",
        diagnostics=worker.log_tail,
    )


def titles(timeline, kind):
    return [entry.title for entry in timeline if entry.kind == kind]


def test_paid_order_timeline_shows_every_step_and_each_retry_with_its_reason(
    client,
    admin_client,
    worker,
    receiver,  # noqa: F811
):
    webhooks.create_endpoint(url=receiver.url, event_types=list(webhooks.EVENT_TYPES))
    order = checkout(client, card_number="4000 0000 0000 0119")  # 503 twice, then paid
    wait_until_final(client, order, worker)
    expected_runs = [f"{task}: succeeded" for task in (
        "notifications.send_order_confirmation", "reports.generate_invoice_pdf",
        "notifications.deliver_webhook")]  # fmt: skip

    def recorded_timeline():
        # A run is recorded when it ends, just after the row the order page reads.
        # Every webhook event (created, paid, invoiced) delivered, too. An
        # outbox row is marked published a few milliseconds after its publish
        # (jobs.services.sent_marks), possibly after the task it sent has run.
        timeline = order_timeline(order)
        delivered = sum("HTTP 200" in t for t in titles(timeline, "webhook"))
        published = all(e.state == "ok" for e in timeline if e.kind == "outbox")
        done = set(expected_runs) <= set(titles(timeline, "task")) and delivered == 3
        return timeline if done and published else None

    timeline = wait_for(
        recorded_timeline,
        what="every run recorded and every outbox row marked published",
        diagnostics=worker.log_tail,
    )

    assert [entry.at for entry in timeline] == sorted(entry.at for entry in timeline)
    outbox = titles(timeline, "outbox")
    assert any("orders.charge_payment" in title for title in outbox)
    assert any(
        "notifications.send_order_confirmation" in t and "reports.generate_invoice_pdf" in t
        for t in outbox
    )
    assert any("notifications.dispatch_webhooks" in title for title in outbox)
    charges = [e for e in timeline if e.title.startswith("orders.charge_payment")]
    assert [e.state for e in charges] == ["retry", "retry", "ok"]
    assert "503" in charges[0].detail  # the retry reason
    assert dict(charges[0].facts)["queue"] == "payments"
    assert dict(charges[0].facts)["worker"] == worker.name
    assert len({e.task_id for e in charges}) == 1 and charges[0].flower_url.endswith(
        charges[0].task_id
    )
    assert set(expected_runs) <= set(titles(timeline, "task"))
    assert "Payment succeeded" in titles(timeline, "payment")
    assert titles(timeline, "email") == ["E-mail sent: Order confirmation"]
    assert len(titles(timeline, "invoice")) == 1
    webhook_titles = titles(timeline, "webhook")
    assert sum(t.startswith("Webhook order.") for t in webhook_titles) == 3
    assert sum("HTTP 200" in t for t in webhook_titles) == 3
    assert all(entry.admin_url for entry in timeline)

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'id="order-timeline"' in page and "orders.charge_payment: failed, will retry" in page
    assert order_ids_matching(charges[0].task_id) == {order.pk}


def test_declined_order_timeline_shows_the_decline_the_email_and_the_cancellation(client, worker):
    order = checkout(client, card_number="4000 0000 0000 0002")
    wait_until_final(client, order, worker)
    order.refresh_from_db()

    timeline = order_timeline(order)

    assert "Payment declined" in titles(timeline, "payment")
    assert titles(timeline, "email") == ["E-mail sent: Payment failed"]
    assert "Order cancelled" in titles(timeline, "order")
    assert "orders.charge_payment: succeeded" in titles(timeline, "task")  # a decline is an answer
    assert not titles(timeline, "invoice")


def test_dead_lettered_webhook_shows_each_attempt_and_the_dead_letter(
    client,
    admin_client,
    worker,
    receiver,  # noqa: F811
):
    receiver.default = (503, {})
    webhooks.create_endpoint(url=receiver.url, event_types=["order.paid"])
    order = checkout(client)

    def dead_lettered():
        webhooks.dispatch_due()  # beat's job in production
        return DeadLetter.objects.filter(task_name="notifications.deliver_webhook").first()

    letter = wait_for(dead_lettered, timeout=40, what="the webhook to be dead-lettered",
                      diagnostics=worker.log_tail)  # fmt: skip
    wait_for(
        lambda: TaskAttempt.objects.filter(task_id=letter.task_id, outcome="failed").exists(),
        what="the failed run to be recorded",
    )

    timeline = order_timeline(order)

    attempts = [t for t in titles(timeline, "webhook") if t.startswith("Webhook attempt")]
    assert len(attempts) == 4 and all("HTTP 503" in t for t in attempts)
    dead = [e for e in timeline if e.kind == "dead letter"]
    assert (
        dead[0].title == f"Dead letter #{letter.pk}: notifications.deliver_webhook failed for good"
    )
    assert dead[0].task_id == letter.task_id
    assert order_ids_matching(letter.task_id) == {order.pk}

    detail = admin_client.get(reverse("admin:jobs_deadletter_change", args=[letter.pk]))
    assert receiver.url in detail.content.decode()
    assert "Last status code: 503" in detail.content.decode()
    listing = admin_client.get(reverse("admin:jobs_deadletter_changelist")).content.decode()
    assert f"{receiver.url}: HTTP 503" in listing
