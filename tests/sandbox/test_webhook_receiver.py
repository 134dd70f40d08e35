"""The sandbox webhook receiver verifies signatures and lists what it received."""

import json
import time

import pytest
from django.urls import reverse

from notifications.services import webhooks
from notifications.webhooks import signing
from sandbox.models import ReceivedWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint():
    return webhooks.create_endpoint(
        url="http://127.0.0.1:8000/sandbox/webhooks/receive", event_types=["order.paid"]
    )


def post(client, *, secret, body=b'{"type":"order.paid","data":{}}', timestamp=None, url=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = signing.signed_headers(
        secret=secret, message_id="msg_1", timestamp=timestamp, body=body
    )
    return client.post(
        url or reverse("sandbox:webhooks_receive"),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "content-type"},
    )


def test_signed_webhook_is_verified_and_listed(client, endpoint):
    response = post(client, secret=endpoint.secret)

    assert response.status_code == 204
    received = ReceivedWebhook.objects.get()
    assert received.verified and received.endpoint_id == endpoint.pk
    assert received.event_type == "order.paid" and received.webhook_id == "msg_1"
    page = client.get(reverse("sandbox:webhooks"))
    assert page.status_code == 200
    assert "msg_1" in page.content.decode() and "verified" in page.content.decode()


def test_wrong_secret_or_old_timestamp_is_refused(client, endpoint):
    assert post(client, secret=signing.generate_secret()).status_code == 401
    assert (
        post(client, secret=endpoint.secret, timestamp=int(time.time()) - 3600).status_code == 401
    )

    problems = set(ReceivedWebhook.objects.values_list("problem", flat=True))
    assert problems == {"no matching signature", "timestamp too far from now"}
    assert not ReceivedWebhook.objects.filter(verified=True).exists()


def test_status_parameter_makes_the_receiver_fail(client, endpoint):
    url = reverse("sandbox:webhooks_receive") + "?status=503"

    assert post(client, secret=endpoint.secret, url=url).status_code == 503
    assert ReceivedWebhook.objects.get().answered_status == 503
    assert json.loads(ReceivedWebhook.objects.get().body)["type"] == "order.paid"
