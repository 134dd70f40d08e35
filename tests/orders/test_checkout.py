from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import Product
from jobs.models import OutboxMessage
from orders.models import Order, OrderItem
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT


def add(client, product, quantity=1):
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": quantity})


@pytest.mark.django_db
def test_checkout_creates_order_with_price_snapshot_and_records_the_pipeline(client, card_token):
    mug = ProductFactory(name="Mug", price="12.00", stock=5)
    beans = ProductFactory(name="Beans", price="14.20", stock=5)
    add(client, mug, 2)
    add(client, beans, 1)

    response = client.post(reverse("orders:checkout"), {**CHECKOUT, "payment_method": card_token()})

    order = Order.objects.get()
    assert response.status_code == 302 and response.url == order.get_absolute_url()
    assert order.total == Decimal("38.20")
    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.email == "ada@example.com"
    assert [(i.name, i.unit_price, i.quantity) for i in order.items.all()] == [
        ("Mug", Decimal("12.00"), 2),
        ("Beans", Decimal("14.20"), 1),
    ]
    assert (order.payment.card_last4, order.payment.card_brand) == ("4242", "visa")
    assert order.payment.payment_method.startswith("pm_")
    assert order.payment.idempotency_key == f"order-{order.public_id}-charge"
    mug.refresh_from_db()
    beans.refresh_from_db()
    assert (mug.stock, beans.stock) == (3, 4)
    outbox = OutboxMessage.objects.get()
    assert outbox.reference == f"order:{order.public_id}"
    assert "orders.charge_payment" in str(outbox.signature)
    assert client.session["cart"] == {}

    # A later price change does not touch the order.
    Product.objects.filter(pk=mug.pk).update(price="99.00")
    assert OrderItem.objects.get(name="Mug").unit_price == Decimal("12.00")


@pytest.mark.django_db
def test_signed_in_customer_owns_the_order(client, django_user_model, product, card_token):
    user = django_user_model.objects.create_user(
        username="grace@example.com", email="grace@example.com", password="x-Strong-pass-1"
    )
    client.force_login(user)
    add(client, product)
    client.post(
        reverse("orders:checkout"),
        {**CHECKOUT, "email": "grace@example.com", "payment_method": card_token()},
    )
    assert Order.objects.get().customer == user


@pytest.mark.django_db
def test_empty_cart_checkout_is_refused(client):
    token = "pm_refused_before_the_gateway_is_asked"
    response = client.post(reverse("orders:checkout"), {**CHECKOUT, "payment_method": token})
    assert response.status_code == 400
    assert "Your cart is empty" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("full_name", "", "This field is required."),
        ("shipping_address", "", "This field is required."),
        ("payment_method", "", "Card entry needs JavaScript"),
        ("payment_method", "4242424242424242", "enter your card again"),
        ("payment_method", "pm_../../charges", "enter your card again"),
    ],
)
def test_invalid_checkout_form_shows_the_error_and_changes_nothing(
    client, product, field, value, message
):
    add(client, product, 2)
    token = "pm_not_checked_as_the_form_is_invalid"
    response = client.post(
        reverse("orders:checkout"), {**CHECKOUT, "payment_method": token, field: value}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    product.refresh_from_db()
    assert product.stock == 10
    assert not Order.objects.exists() and not OutboxMessage.objects.exists()
    assert client.session["cart"] == {str(product.pk): 2}


@pytest.mark.django_db
def test_stock_sold_since_adding_to_cart_is_refused_and_nothing_is_written(client, card_token):
    mug = ProductFactory(name="Mug", stock=5)
    beans = ProductFactory(name="Beans", stock=5)
    add(client, mug, 1)
    add(client, beans, 4)
    Product.objects.filter(pk=beans.pk).update(stock=3)  # someone else bought some

    response = client.post(reverse("orders:checkout"), {**CHECKOUT, "payment_method": card_token()})

    assert response.status_code == 409
    assert "Only 3 of Beans left" in response.content.decode()
    assert not Order.objects.exists() and not OutboxMessage.objects.exists()
    assert Product.objects.get(pk=mug.pk).stock == 5  # the first line was rolled back too


@pytest.mark.django_db
def test_product_withdrawn_since_adding_to_cart_is_refused(client, product, card_token):
    add(client, product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    response = client.post(reverse("orders:checkout"), {**CHECKOUT, "payment_method": card_token()})
    assert response.status_code == 409
    assert "no longer sold" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_checkout_without_csrf_token_is_forbidden(product):
    client = Client(enforce_csrf_checks=True)
    add(client, product)  # also refused, so the cart stays empty
    token = "pm_refused_before_the_gateway_is_asked"
    response = client.post(reverse("orders:checkout"), {**CHECKOUT, "payment_method": token})
    assert response.status_code == 403
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_database_refuses_negative_stock():
    from django.db import IntegrityError, transaction

    product = ProductFactory(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=-1)
