"""Every page the console adds renders for an operator, with real rows behind it."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import QueueEvent, TaskAttempt
from jobs.services import bulk_requeue
from tests.factories import ProductFactory, create_order


@pytest.fixture
def rows(dead_letter_of, admin_user):
    order = create_order({ProductFactory(): 1})
    attempt = TaskAttempt.objects.create(
        task_id="t-1", task_name="orders.charge_payment", business_key=f"orders.order:{order.pk}",
        queue="payments", worker="payments@host", started_at=timezone.now(), duration_ms=12,
        outcome=TaskAttempt.Outcome.RETRYING, detail="gateway: HTTP 503",
    )  # fmt: skip
    letter = dead_letter_of(reference=f"order:{order.public_id}")
    bulk = bulk_requeue.start_bulk_requeue(dead_letter_ids=[letter.pk], rate_per_second=5,
                                           actor=admin_user)  # fmt: skip
    event = QueueEvent.objects.create(queue="emails", action="paused", actor=admin_user)
    return {"order": order, "attempt": attempt, "letter": letter, "bulk": bulk, "event": event}


def test_each_console_page_renders(admin_client, rows):
    pages = [
        reverse("admin:orders_order_change", args=[rows["order"].pk]),
        reverse("admin:jobs_taskattempt_changelist"),
        reverse("admin:jobs_taskattempt_change", args=[rows["attempt"].pk]),
        reverse("admin:jobs_deadletter_change", args=[rows["letter"].pk]),
        reverse("admin:jobs_deadletter_triage") + "?status=all",
        reverse("admin:jobs_bulkrequeue_changelist"),
        reverse("admin:jobs_bulkrequeue_change", args=[rows["bulk"].pk]),
        reverse("admin:jobs_queueevent_changelist"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url

    order_page = admin_client.get(pages[0]).content.decode()
    assert "orders.charge_payment: failed, will retry" in order_page
    assert "gateway: HTTP 503" in order_page
    assert f"Dead letter #{rows['letter'].pk}" in order_page
    bulk_page = admin_client.get(pages[6]).content.decode()
    assert "0 of 1" in bulk_page and "Cancel this requeue" in bulk_page
