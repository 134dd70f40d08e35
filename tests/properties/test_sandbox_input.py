"""Property tests: nothing a client sends breaks the sandbox or stores a half-valid row."""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from sandbox.models import GatewayCharge, GatewayPaymentMethod, GatewayRequest, ReceivedWebhook
from tests.factories import ProductFactory

from .strategies import PROPERTY_SETTINGS, hostile_text, rolled_back

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and ±Infinity included: json.dumps writes them
    | st.decimals(allow_nan=True).map(str)
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=12,
)
charge_fields = st.fixed_dictionaries(
    {},
    optional={
        "amount": json_values,
        "currency": st.one_of(st.just("EUR"), json_values),
        "payment_method": st.one_of(st.just("pm_x"), json_values),
        "reference": json_values,
        "type": json_values,
    },
)
bodies = st.one_of(
    charge_fields.map(lambda payload: json.dumps(payload).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
)


def sandbox_pages_answer(client: Client) -> None:
    for name in ("sandbox:index", "sandbox:webhooks"):
        assert client.get(reverse(name)).status_code == 200


def latin_1(text: str) -> str:
    """Text as a header or raw query string can carry it (HTTP sends bytes)."""
    return text.encode("utf-8", "replace").decode("latin-1")


def post_body(url_name: str, body: bytes, **extra):
    """POST `body` to a sandbox endpoint; the answer, after checking the pages still work."""
    client = Client()
    response = client.post(reverse(url_name), data=body, content_type="application/json", **extra)
    assert response.status_code != 500
    sandbox_pages_answer(client)
    return response


card_bodies = st.one_of(
    st.fixed_dictionaries({"card": st.fixed_dictionaries({"number": json_values})}),
    st.fixed_dictionaries({"card": json_values}),
).map(lambda payload: json.dumps(payload).encode())


@PROPERTY_SETTINGS
@given(body=st.one_of(card_bodies, bodies))
def test_tokenization_answers_every_body_without_a_500_and_vaults_only_card_numbers(body):
    with rolled_back():
        authorization = f"Bearer {settings.PAYMENT_GATEWAY_PUBLISHABLE_KEY}"
        headers = {"Authorization": authorization}
        response = post_body("sandbox:gateway_payment_methods", body, headers=headers)
        assert response.status_code in (201, 400) and response.json()
        for method in GatewayPaymentMethod.objects.all():
            assert method.card_number.isascii() and method.card_number.isdigit()
            assert 12 <= len(method.card_number) <= 19
        if response.status_code == 400:
            assert not GatewayPaymentMethod.objects.exists()


@PROPERTY_SETTINGS
@given(body=bodies, key=hostile_text)
def test_gateway_answers_every_body_without_a_500_and_stores_only_what_it_accepts(body, key):
    with rolled_back():
        authorization = f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}"
        headers = {"Authorization": authorization, "Idempotency-Key": latin_1(key)}
        response = post_body("sandbox:gateway_charges", body, headers=headers)
        assert response.status_code in (201, 400, 402, 503) and response.json()
        if response.status_code == 400:
            assert not GatewayCharge.objects.exists() and not GatewayRequest.objects.exists()


@PROPERTY_SETTINGS
@given(body=bodies, status=hostile_text)
def test_webhook_receiver_answers_every_body_without_a_500(body, status):
    with rolled_back():
        query = latin_1(f"status={status}")
        response = post_body("sandbox:webhooks_receive", body, QUERY_STRING=query)
        if response.status_code == 400:
            assert not ReceivedWebhook.objects.exists()


@PROPERTY_SETTINGS
@given(page=hostile_text, page_size=hostile_text, sku=hostile_text, on_hand=hostile_text)
def test_warehouse_endpoints_never_fail(page, page_size, sku, on_hand):
    with rolled_back():
        ProductFactory(sku="COF-001", stock=7)
        client = Client()
        listing = client.get(
            reverse("sandbox:warehouse_stock"),
            {"page": page, "page_size": page_size},
            headers={"Authorization": f"Bearer {settings.WAREHOUSE_API_KEY}"},
        )
        assert listing.status_code in (200, 400)
        changed = client.post(
            reverse("sandbox:warehouse_set_on_hand"), {"sku": sku, "on_hand": on_hand}
        )
        assert changed.status_code == 302
        sandbox_pages_answer(client)
