"""Checkout takes a card only as a gateway token that is the shop's, fresh and unused.

A token that is made up, another shop's, expired or used (at the gateway, or
on another order here) is a form error next to the card field: no order, no
stock taken, nothing published, nothing charged. The gateway is the sandbox
over real HTTP on the live server.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Product
from jobs.models import OutboxMessage
from orders.models import Order
from sandbox import gateway as sandbox_gateway
from sandbox.models import GatewayCharge, GatewayPaymentMethod
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT


@pytest.fixture
def cart(client, gateway):
    product = ProductFactory(stock=5)
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 2})
    return product


def check_out(client, token):
    return client.post(reverse("orders:checkout"), {**CHECKOUT, "payment_method": token})


def assert_refused_and_nothing_done(response, cart, message):
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    # Next to the card field, which is shown again empty.
    assert 'id="id_card_number_error"' in page and "field--error" in page
    assert not Order.objects.exists() and not OutboxMessage.objects.exists()
    assert Product.objects.get(pk=cart.pk).stock == 5
    assert not GatewayCharge.objects.exists()


def test_a_token_the_gateway_does_not_know_is_refused(client, cart):
    response = check_out(client, "pm_madeupbutwellformed123")
    assert_refused_and_nothing_done(response, cart, "We could not use that card entry")


def test_another_shops_token_is_refused(client, cart, card_token):
    foreign = card_token(publishable_key=sandbox_gateway.ANOTHER_ACCOUNT_PUBLISHABLE_KEY)
    response = check_out(client, foreign)
    assert_refused_and_nothing_done(response, cart, "We could not use that card entry")


def test_an_expired_token_is_refused(client, cart, card_token):
    token = card_token()
    GatewayPaymentMethod.objects.filter(token=token).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = check_out(client, token)
    assert_refused_and_nothing_done(response, cart, "Your card entry has expired")


def test_a_token_used_by_a_charge_at_the_gateway_is_refused(client, cart, card_token):
    token = card_token()
    GatewayPaymentMethod.objects.filter(token=token).update(
        used_by_key="someone-elses-charge", used_at=timezone.now()
    )
    response = check_out(client, token)
    assert_refused_and_nothing_done(response, cart, "This card entry was already used")


def test_a_token_already_on_an_order_is_refused_for_a_second_one(client, cart, card_token):
    token = card_token()
    assert check_out(client, token).status_code == 302
    order = Order.objects.get()
    client.post(reverse("orders:cart_add"), {"product_id": cart.pk, "quantity": 1})

    response = check_out(client, token)

    assert response.status_code == 400
    assert "This card entry was already used" in response.content.decode()
    assert list(Order.objects.all()) == [order]
    assert Product.objects.get(pk=cart.pk).stock == 3  # the first order's two only


def test_a_gateway_that_cannot_be_reached_is_a_form_error_not_an_order(
    client, cart, card_token, settings
):
    token = card_token()
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9/gateway"
    response = check_out(client, token)
    assert_refused_and_nothing_done(response, cart, "could not reach the payment provider")


def test_right_after_checkout_orderlys_database_holds_no_card_number(client, cart, card_token):
    from tests.ops.test_card_number_reaches_nothing import database_text

    assert check_out(client, card_token("4242 4242 4242 4242")).status_code == 302
    # Before any charge: the order and its payment hold the token, last4 and brand only.
    text = database_text()
    assert "4242424242424242" not in text and "4242 4242 4242 4242" not in text
    assert "4242424242424242" in database_text(apps_left_out=())  # the gateway's vault
