"""Validation matches storage: column lengths, no control characters, ASCII digits (issue 12).

Run on PostgreSQL in CI: SQLite stores NUL and over-long strings happily,
which is how the 500s below went unnoticed.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inventory.models import Product
from orders.models import Order, Payment
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT

pytestmark = pytest.mark.django_db

CONTROL_MESSAGE = "Remove the control character U+0000"


def checkout(client, product, **fields):
    """Check out with `fields` over a valid card token (pass payment_method to replace it)."""
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    token = {} if "payment_method" in fields else {"payment_method": "pm_checked_only_if_valid"}
    return client.post(reverse("orders:checkout"), {**CHECKOUT, **token, **fields})


def test_anonymous_catalog_filter_with_nul_is_a_400_that_says_why(client):
    ProductFactory(category="Coffee")
    response = client.get("/?category=%00")
    assert response.status_code == 400
    assert "control character U+0000" in response.content.decode()


@pytest.mark.parametrize("query", ["q=%00", "x%01=1", "category=Tea%1b"])
def test_any_query_parameter_name_or_value_with_a_control_character_is_refused(admin_client, query):
    assert admin_client.get(f"/admin/orders/order/?{query}").status_code == 400


def test_catalog_filter_with_ordinary_unicode_still_works(client):
    ProductFactory(category="Té & Kräuter")
    response = client.get("/", {"category": "Té & Kräuter"})
    assert response.status_code == 200
    assert "Té &amp; Kräuter" in response.content.decode()


def test_checkout_refuses_a_300_character_email_the_column_cannot_hold(client):
    product = ProductFactory(stock=3)
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".example.com"  # valid, ~260 chars
    assert len(email) > 254
    response = checkout(client, product, email=email)
    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    assert not Order.objects.exists()
    assert Product.objects.get().stock == 3


@pytest.mark.parametrize("field", ["full_name", "email", "shipping_address", "payment_method"])
def test_a_nul_in_any_checkout_field_is_refused_next_to_it_and_nothing_is_placed(client, field):
    product = ProductFactory(stock=3)
    value = {"email": "ada\x00@example.com", "payment_method": "pm_\x00abcdefgh"}.get(
        field, CHECKOUT.get(field, "") + "\x00"
    )
    response = checkout(client, product, **{field: value})
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.content.decode()
    assert not Order.objects.exists() and Product.objects.get().stock == 3


@pytest.mark.parametrize("control", ["\x07", "\x1b", "\x7f", "\x85", "\t"])
def test_other_control_characters_are_refused_in_the_name(client, control):
    response = checkout(client, ProductFactory(), full_name=f"Ada{control}Lovelace")
    assert response.status_code == 400
    assert "Remove the control character" in response.content.decode()
    assert not Order.objects.exists()


def test_the_address_keeps_its_line_breaks_typed_as_crlf_and_loses_blank_lines(client, card_token):
    response = checkout(
        client,
        ProductFactory(),
        shipping_address="  12  Analytical Row \r\n\r\nLondon\r\n",
        payment_method=card_token(),
    )
    assert response.status_code == 302
    assert Order.objects.get().shipping_address == "12 Analytical Row\nLondon"


def test_rtl_marks_and_combining_characters_are_ordinary_text(client, card_token):
    name = "\u200fאדה\u200f Lovelace Zoe\u0308"
    assert (
        checkout(client, ProductFactory(), full_name=name, payment_method=card_token()).status_code
        == 302
    )
    assert Order.objects.get().full_name == name


def test_a_card_number_posted_to_checkout_is_not_a_card_and_is_not_kept(client):
    # What an old page, or a script posting the number itself, would send.
    product = ProductFactory(stock=3)
    response = checkout(client, product, payment_method="4242424242424242")
    assert response.status_code == 400
    assert "4242424242424242" not in response.content.decode()
    assert not Order.objects.exists() and not Payment.objects.exists()


@pytest.mark.parametrize("quantity", ["٣", "+3", "1_0", "³", "3.0", " 3x", "0099"])
def test_quantities_are_ascii_digits_only(client, quantity):
    product = ProductFactory(stock=50)
    response = client.post(
        reverse("orders:cart_add"), {"product_id": product.pk, "quantity": quantity}
    )
    assert response.status_code == 400
    assert "whole number between 1 and 99" in response.content.decode()
    assert client.session.get("cart", {}) == {}


@pytest.mark.parametrize("product_id", ["٣", "1\x00", "9" * 40])
def test_product_ids_are_ascii_digits_that_fit_a_bigint(client, product_id):
    ProductFactory()
    response = client.post(reverse("orders:cart_add"), {"product_id": product_id, "quantity": 1})
    assert response.status_code == 404
    assert client.session.get("cart", {}) == {}


def test_signup_refuses_an_email_longer_than_the_username_column(client):
    email = "a" * 140 + "@example.com"  # 152: fits the e-mail column, not username (150)
    response = client.post(
        reverse("accounts:signup"),
        {"full_name": "Ada", "email": email, "password": "engine-Diff-1843"},
    )
    assert response.status_code in (200, 400)
    assert "at most 150 characters" in response.content.decode()
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("field", ["full_name", "email", "password"])
def test_signup_refuses_nul_in_any_field(client, field):
    data = {"full_name": "Ada", "email": "ada@example.com", "password": "engine-Diff-1843"}
    data[field] = data[field][:2] + "\x00" + data[field][2:]
    response = client.post(reverse("accounts:signup"), data)
    assert response.status_code in (200, 400)
    assert CONTROL_MESSAGE in response.content.decode()
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("field", ["username", "password"])
def test_login_with_nul_is_a_form_error_not_a_500(client, field):
    data = {"username": "ada@example.com", "password": "whatever-1"}
    data[field] += "\x00"
    response = client.post(reverse("accounts:login"), data)
    assert response.status_code in (200, 400)
    assert CONTROL_MESSAGE in response.content.decode()


def test_a_session_cookie_with_an_escaped_nul_is_ignored_not_a_500(client):
    # The test client sends it as sessionid="abcdefgh\000ijklmnop", plain ASCII that
    # Django unquotes into a NUL.
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert 'sessionid="abcdefgh\\000ijklmnop"' in client.cookies.output()
    response = client.get(reverse("inventory:catalog"))
    assert response.status_code == 200


def test_a_cart_still_works_after_a_bad_cookie_is_dropped(client):
    product = ProductFactory(stock=5)
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 2})
    assert client.session["cart"] == {str(product.pk): 2}
