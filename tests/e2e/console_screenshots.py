"""README screenshots of the operator's console: run by `make screenshots`, never by the tests.

Not named test_*.py, so the test suite does not collect it; `scripts/screenshots`
passes it to pytest explicitly to reuse the browser, live server and worker
fixtures. It drives a real order through the real worker, then fills in the
failure cases an operator meets, and photographs each console page at 1280 px.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs.errors import PermanentError, TemporaryError
from jobs.services import dead_letters, queue_pausing
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from orders.models import Order
from project.celery import app as celery_app
from tests.factories import ProductFactory

from .test_console import log_in, operator  # noqa: F401 (fixture)
from .test_shopper import add_to_cart, fill_checkout

pytestmark = pytest.mark.worker


def failed_webhook(order) -> None:
    endpoint = WebhookEndpoint.objects.create(
        url="https://partner.example/hooks", secret="whsec_docs", is_active=False,
        consecutive_failures=30, disabled_at=timezone.now(),
        disabled_reason="30 failed deliveries in a row",
    )  # fmt: skip
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, order=order, event_id="evt_docs", event_type="order.paid",
        payload={}, status=WebhookDelivery.Status.FAILED, attempts=4,
        last_error="HTTP 502 from the receiver",
    )  # fmt: skip
    for _ in range(4):
        WebhookAttempt.objects.create(delivery=delivery, status_code=502, duration_ms=41,
                                      error="HTTP 502 Bad Gateway")  # fmt: skip
    dead_letters.record_dead_letter(
        task_name="notifications.deliver_webhook", task_id="docs-webhook-task", queue="webhooks",
        args=[delivery.pk, 4], kwargs={}, exc=TemporaryError("HTTP 502 Bad Gateway"),
        traceback="", attempts=4, worker_hostname="webhooks@orderly", first_failed_at=None,
        reference=f"webhookdelivery:{delivery.pk}",
    )  # fmt: skip
    for n in range(12):
        dead_letters.record_dead_letter(
            task_name="notifications.send_order_confirmation", task_id=f"docs-mail-{n}",
            queue="emails", args=[order.pk], kwargs={},
            exc=TemporaryError("mail server: ConnectionRefusedError(111)"), traceback="",
            attempts=7, worker_hostname="emails@orderly", first_failed_at=None,
            reference=f"order:{order.public_id}",
        )  # fmt: skip
    dead_letters.record_dead_letter(
        task_name="reports.generate_invoice_pdf", task_id="docs-invoice", queue="reports",
        args=[order.pk], kwargs={}, exc=PermanentError("template error: unknown field 'vat'"),
        traceback="", attempts=1, worker_hostname="reports@orderly", first_failed_at=None,
        reference=f"order:{order.public_id}",
    )  # fmt: skip


def test_console_screenshots(page, worker, operator, screenshot):  # noqa: F811
    dripper = ProductFactory(name="Pour-over dripper", price="24.00")
    page.goto("/")
    add_to_cart(page, dripper)
    page.get_by_role("link", name=re.compile(r"Cart \(1\)")).click()
    page.get_by_role("link", name="Checkout").click()
    fill_checkout(page, card="4000 0000 0000 0119")  # two 503s, then charged
    expect(page.locator("#order-steps")).to_have_attribute("data-final", "true")
    order = Order.objects.latest("pk")
    failed_webhook(order)

    log_in(page, operator)
    try:
        queue_pausing.pause_queue(queue="emails", actor=operator, note="SMTP relay maintenance")
        page.goto("/admin/")
        screenshot(page, "console-index")
        page.goto("/admin/jobs/pausedqueue/")
        screenshot(page, "console-queues")
    finally:
        queue_pausing.resume_queue(queue="emails")
        celery_app.control.add_consumer("emails", destination=[worker.name], reply=True, timeout=2)

    page.goto(f"/admin/orders/order/?q={order.number}")
    page.get_by_role("link", name=order.number).click()
    page.locator("#order-timeline").scroll_into_view_if_needed()
    screenshot(page, "console-timeline")

    page.goto("/admin/jobs/deadletter/?status__exact=open")
    screenshot(page, "console-dead-letters")
    page.goto("/admin/jobs/deadletter/triage/")
    screenshot(page, "console-triage")
    page.goto(
        "/admin/jobs/deadletter/requeue-matching/?task_name=notifications.send_order_confirmation"
    )
    screenshot(page, "console-requeue-dry-run")
