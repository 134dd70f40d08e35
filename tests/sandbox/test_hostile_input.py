"""The sandbox refuses what it cannot handle with a 400, stores nothing, and keeps its pages up.

Issue 12: a deeply nested body raised RecursionError (500) in the gateway and
the webhook receiver; an amount of 1e999999 was stored (201) and then
/sandbox/ answered 500 for everyone.
"""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from sandbox.models import GatewayCharge, GatewayRequest, ReceivedWebhook, WarehouseItem
from tests.factories import ProductFactory
from tests.helpers import sandbox_payment_method

pytestmark = pytest.mark.django_db

CHARGE = {"amount": "10.00", "currency": "EUR", "payment_method": "pm_x"}


def post_charge(client, body, *, key="key-1"):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return client.post(
        reverse("sandbox:gateway_charges"),
        data=body,
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}",
            "Idempotency-Key": key,
        },
    )


def assert_refused_and_nothing_stored(response, client):
    assert response.status_code == 400
    assert response.json()["message"]
    assert not GatewayCharge.objects.exists() and not GatewayRequest.objects.exists()
    assert not ReceivedWebhook.objects.exists()
    assert client.get(reverse("sandbox:index")).status_code == 200
    assert client.get(reverse("sandbox:webhooks")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe not utf-8",
        b'{"amount": NaN, "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": Infinity, "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": 1e999999, "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": "1e999999", "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": "-Infinity", "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": "sNaN", "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": 10000000000, "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": "0.001", "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": -5, "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": true, "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": "' + b"9" * 5000 + b'", "currency": "EUR", "payment_method": "pm_x"}',
        b'{"amount": "10", "currency": "E\\u0000R", "payment_method": "pm_x"}',
        b'{"amount": "10", "currency": ["EUR"], "payment_method": "pm_x"}',
        b'{"amount": "10", "currency": "EUR", "payment_method": ["pm_x"]}',
        b'{"amount": "10", "currency": "EUR", "payment_method": "pm_\\u0000"}',
        b'{"amount": "10", "currency": "EUR", "payment_method": "pm_x",'
        b' "reference": "nul \\u0000 here"}',
        b'{"amount": "10", "currency": "EUR", "payment_method": "pm_x",'
        b' "reference": "' + b"r" * 121 + b'"}',
        b" " * (64 * 1024 + 1),
    ],
)
def test_the_gateway_refuses_what_it_cannot_store(client, body):
    assert_refused_and_nothing_stored(post_charge(client, body), client)


@pytest.mark.parametrize("key", ["k" * 121, "key\x00"])
def test_the_gateway_refuses_an_idempotency_key_its_column_cannot_hold(client, key):
    assert_refused_and_nothing_stored(post_charge(client, CHARGE, key=key), client)


def test_a_well_formed_charge_still_succeeds_and_shows_on_the_sandbox_page(client):
    token = sandbox_payment_method().token
    response = post_charge(
        client, {**CHARGE, "payment_method": token, "amount": 12.5, "reference": "Zoë ⟨ref⟩"}
    )
    assert response.status_code == 201
    charge = GatewayCharge.objects.get()
    assert str(charge.amount) == "12.50" and charge.reference == "Zoë ⟨ref⟩"
    assert "Zoë ⟨ref⟩" in client.get(reverse("sandbox:index")).content.decode()


@pytest.mark.parametrize(
    ("body", "query"),
    [
        (b"[" * 100_000, ""),
        (b"not json", ""),
        (b'["not", "an", "object"]', ""),
        (b'{"type": "order.paid\\u0000"}', ""),
        (b'{"type": "' + b"t" * 61 + b'"}', ""),
        (b'{"type": "order.paid"}', "?status=%D9%A5%D9%A0%D9%A3"),  # Arabic-Indic 503
        (b'{"type": "order.paid"}', "?status=99999999999999999999"),
    ],
)
def test_the_webhook_receiver_refuses_what_it_cannot_read(client, body, query):
    response = client.post(
        reverse("sandbox:webhooks_receive") + query, data=body, content_type="application/json"
    )
    assert_refused_and_nothing_stored(response, client)


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page_size=%D9%A5", "page=-1"])
def test_warehouse_paging_out_of_range_is_a_400(client, query):
    response = client.get(
        reverse("sandbox:warehouse_stock") + "?" + query,
        headers={"Authorization": f"Bearer {settings.WAREHOUSE_API_KEY}"},
    )
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.parametrize("on_hand", ["2147483648", "10000000000", "٣", "1e3", "9" * 5000])
def test_warehouse_quantity_past_its_column_is_explained_and_changes_nothing(client, on_hand):
    ProductFactory(sku="COF-001", stock=7)
    client.get(reverse("sandbox:index"))

    response = client.post(
        reverse("sandbox:warehouse_set_on_hand"),
        {"sku": "COF-001", "on_hand": on_hand},
        follow=True,
    )

    assert "Pick a known SKU and a quantity of 0 or more." in response.content.decode()
    assert WarehouseItem.objects.get().on_hand == 7
