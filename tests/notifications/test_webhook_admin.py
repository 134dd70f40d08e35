"""Operators manage webhook endpoints and deliveries in admin."""

import pytest
from django.urls import reverse

from jobs.models import OutboxMessage
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.services import webhooks
from notifications.services.webhooks import emit_order_event
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db


def test_adding_an_endpoint_generates_a_secret(admin_client):
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"url": "http://127.0.0.1:8000/sandbox/webhooks/receive", "description": "sandbox",
         "event_types": ["order.paid", "order.created"]},
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["order.paid", "order.created"]


def test_admin_refuses_a_private_address(admin_client, settings):
    settings.ORDERLY_WEBHOOK_ALLOWED_HOSTS = []
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"url": "http://169.254.169.254/latest", "event_types": ["order.paid"]},
    )

    assert response.status_code == 200
    assert "cloud metadata address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_endpoint_actions_send_a_test_event_rotate_the_secret_and_re_enable(admin_client):
    endpoint = webhooks.create_endpoint(url="http://127.0.0.1:9/hook", event_types=[])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, consecutive_failures=9)
    url = reverse("admin:notifications_webhookendpoint_changelist")
    old_secret = endpoint.secret

    for action in ("send_test_event", "rotate_secret", "enable_endpoints"):
        response = admin_client.post(url, {"action": action, "_selected_action": [endpoint.pk]})
        assert response.status_code == 302

    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.secret.startswith("whsec_")
    assert endpoint.is_active and endpoint.consecutive_failures == 0
    assert WebhookDelivery.objects.get().event_type == "webhook.test"


def test_redeliver_action_requeues_the_selected_deliveries(admin_client):
    webhooks.create_endpoint(url="http://127.0.0.1:9/hook", event_types=["order.paid"])
    order = create_order({ProductFactory(): 1})
    deliveries = emit_order_event(order=order, event_type="order.paid") + emit_order_event(
        order=order, event_type="order.paid"
    )
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.FAILED, attempts=8)

    response = admin_client.post(
        reverse("admin:notifications_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [d.pk for d in deliveries]},
    )

    assert response.status_code == 302
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", 0)}
    assert OutboxMessage.objects.filter(reference="redeliver").count() == 1
    change = admin_client.get(
        reverse("admin:notifications_webhookdelivery_change", args=[deliveries[0].pk])
    )
    assert change.status_code == 200
