"""A bug in invoice rendering, in a real worker: one dead letter, a final order page, a requeue."""

import os

import pytest
import redis
from django.urls import reverse

from jobs.models import DeadLetter
from jobs.services.dead_letters import requeue_dead_letter
from reports.models import Invoice, InvoiceFailure
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for

pytestmark = pytest.mark.worker


def test_in_a_real_worker_a_render_bug_makes_one_dead_letter_and_the_page_stops_polling(
    client, worker
):
    control = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    email = "render-bug@example.com"
    control.set(f"invoice-render-fails:{email}", "1")
    try:
        product = ProductFactory(stock=5)
        client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
        response = client.post(reverse("orders:checkout"), checkout_form(email=email))
        status_url = response.url + "status/"
        data = wait_for(
            lambda: (data := client.get(status_url).json())["final"] and data,
            timeout=40,
            what="every step to be final (the invoice one failed)",
            diagnostics=worker.log_tail,
        )
        steps = {step["name"]: step for step in data["steps"]}
        assert steps["invoice"]["state"] == "failed"
        assert steps["payment"]["state"] == "done" and steps["email"]["state"] == "done"
        # The failure row is written just before the task fails; its dead letter follows.
        letter = wait_for(
            lambda: DeadLetter.objects.filter(task_name="reports.generate_invoice_pdf").first(),
            what="the invoice task's dead letter",
            diagnostics=worker.log_tail,
        )
        assert letter.attempts == 1  # not retried
        assert letter.exception_class == "reports.errors.InvoiceRenderingFailed"
        page = client.get(response.url).content.decode()
        assert "The invoice could not be produced" in page
    finally:
        control.delete(f"invoice-render-fails:{email}")

    # The operator fixes the cause and requeues: the invoice is made and the failure goes.
    requeue_dead_letter(dead_letter_id=letter.pk)
    wait_for(
        lambda: Invoice.objects.filter(order__email=email).exists(),
        what="the requeued invoice",
        diagnostics=worker.log_tail,
    )
    assert not InvoiceFailure.objects.exists()
    assert DeadLetter.objects.filter(task_name="reports.generate_invoice_pdf").count() == 1
