"""The sandbox gateway's tokenization endpoint and its tokens, over real HTTP (live server).

A browser on the shop's origin sends the card number with the publishable
key and gets a single-use token; CORS answers only the shop's origin; the
token is charged once, by the shop's account only, before it expires.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from orders import gateway
from orders.errors import PaymentDeclined, PaymentMethodUnusable
from sandbox import gateway as sandbox_gateway
from sandbox.models import GatewayCharge, GatewayPaymentMethod

SHOP_ORIGIN = "http://shop.example:8000"
OTHER_ORIGIN = "http://evil.example"


@pytest.fixture
def endpoint(gateway, settings):
    settings.SANDBOX_GATEWAY_ALLOWED_ORIGINS = [SHOP_ORIGIN]
    return f"{gateway}/payment_methods"


def tokenize(endpoint, number="4242 4242 4242 4242", *, origin=SHOP_ORIGIN, key=None):
    from django.conf import settings

    headers = {"Authorization": f"Bearer {key or settings.PAYMENT_GATEWAY_PUBLISHABLE_KEY}"}
    if origin:
        headers["Origin"] = origin
    return requests.post(endpoint, json={"card": {"number": number}}, headers=headers, timeout=5)


def charge(token, key="charge-1"):
    return gateway.charge(
        amount=Decimal("10.00"),
        currency="EUR",
        payment_method=token,
        idempotency_key=key,
        reference="test",
    )


def test_a_card_becomes_a_token_with_its_brand_and_last4_and_the_shops_origin_may_read_it(
    endpoint,
):
    response = tokenize(endpoint, "5555 5555 5555 4444")
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("pm_") and "5555555555554444" not in response.text
    assert body["card"] == {"brand": "mastercard", "last4": "4444"}
    assert response.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert "Origin" in response.headers["Vary"]
    assert gateway.retrieve_payment_method(token=body["id"]) == gateway.PaymentMethod(
        token=body["id"], last4="4444", brand="mastercard"
    )


def test_preflight_is_answered_for_the_shops_origin_only(endpoint):
    asked = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    shop = requests.options(endpoint, headers={**asked, "Origin": SHOP_ORIGIN}, timeout=5)
    assert shop.status_code == 204
    assert shop.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert shop.headers["Access-Control-Allow-Methods"] == "POST"
    assert "Authorization" in shop.headers["Access-Control-Allow-Headers"]

    other = requests.options(endpoint, headers={**asked, "Origin": OTHER_ORIGIN}, timeout=5)
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers
    refused = tokenize(endpoint, origin=OTHER_ORIGIN)
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert not GatewayPaymentMethod.objects.exists()


def test_an_unknown_publishable_key_makes_no_token(endpoint):
    response = tokenize(endpoint, key="pk_test_nobody")
    assert response.status_code == 401
    assert not GatewayPaymentMethod.objects.exists()


@pytest.mark.parametrize(
    ("number", "code", "message"),
    [
        ("4242 4242 4242 4241", "incorrect_number", "not valid"),
        ("abcd", "invalid_number", "12 to 19 digits"),
        ("", "invalid_number", "12 to 19 digits"),
        ("\u0664\u0662\u0664\u0662" * 4, "invalid_number", "12 to 19 digits"),  # Arabic-Indic
        ("4" * 40, "invalid_number", "12 to 19 digits"),
    ],
)
def test_a_malformed_card_gets_the_field_error_and_no_token(endpoint, number, code, message):
    response = tokenize(endpoint, number)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("number", code)
    assert message in error["message"]
    assert response.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN  # the page can read it
    assert not GatewayPaymentMethod.objects.exists()


def test_a_token_pays_once_a_retry_with_the_same_key_replays_and_another_key_is_declined(
    endpoint,
):
    token = tokenize(endpoint).json()["id"]
    first = charge(token, key="first")
    assert charge(token, key="first") == first  # the same charge, asked again
    with pytest.raises(PaymentDeclined, match="already used"):
        charge(token, key="second")
    assert GatewayCharge.objects.filter(status_code=201).count() == 1
    with pytest.raises(PaymentMethodUnusable, match="already used"):
        gateway.retrieve_payment_method(token=token)


def test_another_shops_token_is_unknown_to_the_shop_and_cannot_be_charged(endpoint):
    key = sandbox_gateway.ANOTHER_ACCOUNT_PUBLISHABLE_KEY
    foreign = tokenize(endpoint, key=key).json()["id"]
    with pytest.raises(PaymentMethodUnusable):
        gateway.retrieve_payment_method(token=foreign)
    with pytest.raises(PaymentDeclined, match="No such payment method"):
        charge(foreign)
    assert not GatewayCharge.objects.filter(status_code=201).exists()


def test_an_expired_token_cannot_be_charged(endpoint):
    token = tokenize(endpoint).json()["id"]
    GatewayPaymentMethod.objects.filter(token=token).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(PaymentMethodUnusable, match="expired"):
        gateway.retrieve_payment_method(token=token)
    with pytest.raises(PaymentDeclined, match="expired"):
        charge(token)


def test_the_test_cards_behave_by_the_card_behind_the_token(endpoint):
    declined = tokenize(endpoint, sandbox_gateway.DECLINED).json()["id"]
    with pytest.raises(PaymentDeclined, match="Your card was declined"):
        charge(declined, key="declined")
    assert GatewayCharge.objects.get(idempotency_key="declined").card_last4 == "0002"


@pytest.mark.parametrize("path", ["/", "/sandbox/gateway/nothing-here", "/orders/"])
def test_the_gateway_origin_answers_an_unknown_path_with_a_json_404(client, settings, path):
    """With DEBUG off the shop's 404 page failed here (it links to shop URLs): 500, not 404."""
    settings.ROOT_URLCONF = "sandbox.gateway_urls"
    settings.DEBUG = False
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"message": "No such endpoint"}
