"""Admin search finds an order by its number, its UUID or the id of a task that worked on it."""

import uuid

from django.urls import reverse
from django.utils import timezone

from console.search import order_ids_matching
from jobs.models import TaskAttempt
from notifications.models import WebhookDelivery, WebhookEndpoint
from tests.factories import ProductFactory, create_order

ORDERS = reverse("admin:orders_order_changelist")


def test_number_uuid_and_task_ids_each_find_their_order(db, dead_letter_of):
    order, other = create_order({ProductFactory(): 1}), create_order({ProductFactory(): 1})
    charge_id = str(uuid.uuid4())
    TaskAttempt.objects.create(task_id=charge_id, task_name="orders.charge_payment",
                               business_key=f"orders.order:{order.pk}", started_at=timezone.now(),
                               duration_ms=3, outcome="retrying")  # fmt: skip
    endpoint = WebhookEndpoint.objects.create(url="https://partner.example/hooks", secret="whsec_x")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, order=order, event_id="evt_1",
                                              event_type="order.paid", payload={})  # fmt: skip
    webhook_letter = dead_letter_of("notifications.deliver_webhook", args=[delivery.pk, 1],
                                    reference=f"webhookdelivery:{delivery.pk}")  # fmt: skip
    email_letter = dead_letter_of("notifications.send_order_confirmation", args=[order.pk],
                                  reference=f"order:{order.public_id}")  # fmt: skip

    assert order_ids_matching(order.number) == {order.pk}
    assert order_ids_matching(order.number.lower().replace("-", "")) == {order.pk}
    assert order_ids_matching(str(order.public_id)) == {order.pk}
    assert order_ids_matching(charge_id) == {order.pk}
    assert order_ids_matching(webhook_letter.task_id) == {order.pk}
    assert order_ids_matching(email_letter.task_id) == {order.pk}
    assert other.pk not in order_ids_matching(str(order.public_id))


def test_search_of_unknown_or_odd_input_finds_nothing_and_never_fails(admin_client):
    create_order({ProductFactory(): 1})
    for term in ("ORD-999999", str(uuid.uuid4()), "'; drop table orders; --", "ORD-", " "):
        response = admin_client.get(ORDERS, {"q": term})
        assert response.status_code == 200
        if term.strip():
            assert "0 results" in response.content.decode()


def test_admin_search_box_finds_the_order_by_number(admin_client):
    order = create_order({ProductFactory(): 1})
    create_order({ProductFactory(): 1})
    page = admin_client.get(ORDERS, {"q": order.number}).content.decode()
    assert "1 result" in page and order.number in page
