"""Requeue first readies the business object, or refuses with the reason; a dry run says which.

No worker here: these run the requeue service and admin's dry run against
the database (tests/jobs/test_requeue_redoes_the_work.py runs the work).
"""

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from jobs.errors import DeadLetterError
from jobs.models import DeadLetter, DeadLetterEvent, OutboxMessage
from jobs.services.dead_letters import requeue_dead_letter
from notifications.models import WebhookDelivery
from notifications.services import webhooks
from notifications.services.webhooks import emit_order_event
from reports.models import Invoice, InvoiceFailure
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db


def invoice_letter(dead_letter_of, order):
    return dead_letter_of(
        "reports.generate_invoice_pdf", args=(order.pk,), reference=f"order:{order.public_id}"
    )


def delivery_letter(dead_letter_of, delivery):
    return dead_letter_of(
        "notifications.deliver_webhook",
        args=(delivery.pk, delivery.attempts - 1),
        reference=f"webhookdelivery:{delivery.pk}",
    )


def failed_delivery(**fields):
    # 127.0.0.1 is on the tests' allow-list (no DNS here); nothing is sent.
    webhooks.create_endpoint(url="http://127.0.0.1:9/hooks", event_types=["order.paid"])
    order = create_order({ProductFactory(): 1})
    [delivery] = emit_order_event(order=order, event_type="order.paid")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        **{"status": WebhookDelivery.Status.FAILED, "attempts": 1, **fields}
    )
    delivery.refresh_from_db()
    return delivery


def test_a_dead_letter_whose_order_was_deleted_is_refused_and_stays_open(dead_letter_of):
    order = create_order({ProductFactory(): 1})
    letter = invoice_letter(dead_letter_of, order)
    order.delete()
    published = OutboxMessage.objects.count()

    with pytest.raises(DeadLetterError, match="no longer exists; resolve the dead letter"):
        requeue_dead_letter(dead_letter_id=letter.pk)

    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.OPEN
    assert letter.events.get().action == DeadLetterEvent.Action.REQUEUE_REFUSED
    assert OutboxMessage.objects.count() == published


def test_a_failed_delivery_is_reopened_with_one_more_attempt_in_the_requeue(dead_letter_of):
    delivery = failed_delivery()
    letter = delivery_letter(dead_letter_of, delivery)

    requeue_dead_letter(dead_letter_id=letter.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.completed_at is None
    published = OutboxMessage.objects.order_by("pk").last().signature
    assert published["task"] == "notifications.deliver_webhook"
    assert published["args"] == [delivery.pk, 1]  # the current attempt: not a stale message


def test_a_delivery_sent_since_is_refused_with_the_reason(dead_letter_of):
    delivery = failed_delivery(status=WebhookDelivery.Status.SUCCEEDED, attempts=2)
    letter = delivery_letter(dead_letter_of, delivery)

    with pytest.raises(DeadLetterError, match="was already sent"):
        requeue_dead_letter(dead_letter_id=letter.pk)
    assert DeadLetter.objects.get(pk=letter.pk).status == DeadLetter.Status.OPEN


def test_the_dry_run_counts_what_would_run_and_changes_nothing(dead_letter_of, admin_client):
    reopenable = create_order({ProductFactory(): 1})
    InvoiceFailure.objects.create(order=reopenable, reason="ZeroDivisionError: a bug")
    done = create_order({ProductFactory(): 1})
    Invoice.objects.create(order=done, number="INV-1", file="invoices/x.pdf", size_bytes=1)
    letters = [invoice_letter(dead_letter_of, reopenable), invoice_letter(dead_letter_of, done)]
    sent = delivery_letter(
        dead_letter_of, failed_delivery(status=WebhookDelivery.Status.SUCCEEDED, attempts=2)
    )

    page = admin_client.get(reverse("admin:jobs_deadletter_requeue_matching")).content.decode()

    assert "3 open dead letters</strong> match" in page
    assert '<strong id="will-run">1 would run</strong>' in page
    assert '<strong id="would-refuse">2 would be refused</strong>' in page
    assert f"#{letters[1].pk}: Invoice INV-1 of order {done.number} is already stored" in page
    assert f"#{sent.pk}: Webhook delivery" in page
    # The preparers ran and were rolled back: the failure is still there, nothing published.
    assert InvoiceFailure.objects.filter(order=reopenable).exists()
    assert not OutboxMessage.objects.filter(signature__task="reports.generate_invoice_pdf").exists()
    assert set(DeadLetter.objects.values_list("status", flat=True)) == {DeadLetter.Status.OPEN}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="racing row locks need PostgreSQL (CI sets it)"
)
@pytest.mark.django_db(transaction=True)
def test_two_requeues_racing_for_one_letter_publish_its_work_once(dead_letter_of):
    delivery = failed_delivery()
    letter = delivery_letter(dead_letter_of, delivery)
    start, outcomes = threading.Barrier(2), []

    def requeue():
        start.wait()
        try:
            requeue_dead_letter(dead_letter_id=letter.pk)
            outcomes.append("requeued")
        except DeadLetterError as refusal:
            outcomes.append(str(refusal))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=requeue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes)[-1] == "requeued" and "only open dead letters" in sorted(outcomes)[0]
    published = OutboxMessage.objects.filter(signature__task="notifications.deliver_webhook")
    assert published.count() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1  # reopened once: one new attempt, not two


def test_a_step_of_the_sales_report_chord_is_refused_with_how_to_build_it_again(dead_letter_of):
    from datetime import date

    from reports.models import SalesReport

    report = SalesReport.objects.create(
        date_from=date(2026, 12, 1),
        date_to=date(2026, 12, 1),
        parts_total=24,
        status=SalesReport.Status.FAILED,
    )
    letter = dead_letter_of(
        "reports.compile_sales_report", args=(report.pk,), reference=f"salesreport:{report.pk}"
    )

    with pytest.raises(DeadLetterError, match=r"cannot finish it alone\. Build the report again"):
        requeue_dead_letter(dead_letter_id=letter.pk)
    assert DeadLetter.objects.get(pk=letter.pk).status == DeadLetter.Status.OPEN
    assert not OutboxMessage.objects.filter(signature__task="reports.compile_sales_report")
