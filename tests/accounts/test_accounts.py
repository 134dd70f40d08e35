import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from jobs.models import OutboxMessage
from orders.models import Order
from tests.factories import ProductFactory
from tests.helpers import checkout_form

SIGNUP = {"full_name": "Ada Lovelace", "email": "Ada@Example.com", "password": "engine-Diff-1843"}


def place_guest_order(client, email="ada@example.com") -> Order:
    product = ProductFactory()
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    client.post(reverse("orders:checkout"), checkout_form(email=email))
    return Order.objects.latest("pk")


@pytest.mark.django_db
def test_signup_creates_account_logs_in_and_records_one_welcome_email(client):
    response = client.post(reverse("accounts:signup"), SIGNUP)
    assert response.status_code == 302 and response.url == reverse("accounts:orders")
    user = get_user_model().objects.get()
    assert (user.email, user.username, user.first_name) == (
        "ada@example.com",
        "ada@example.com",
        "Ada",
    )
    welcome = OutboxMessage.objects.get(reference=f"user:{user.pk}")
    assert welcome.signature["task"] == "notifications.send_welcome_email"
    assert welcome.signature["args"] == [user.pk]
    assert client.get(reverse("accounts:orders")).status_code == 200


def test_guest_orders_from_this_browser_join_the_new_account(client, gateway):
    mine = place_guest_order(client, email="ada@example.com")
    other_browser = place_guest_order(client.__class__(), email="ada@example.com")

    client.post(reverse("accounts:signup"), SIGNUP)

    user = get_user_model().objects.get()
    mine.refresh_from_db()
    other_browser.refresh_from_db()
    assert mine.customer == user
    # Not claimable without proof of owning the address.
    assert other_browser.customer is None
    history = client.get(reverse("accounts:orders")).content.decode()
    assert mine.number in history and other_browser.number not in history


@pytest.mark.django_db
def test_duplicate_email_and_weak_password_are_refused_next_to_the_fields(client):
    get_user_model().objects.create_user(username="ada@example.com", email="ada@example.com")
    response = client.post(reverse("accounts:signup"), {**SIGNUP, "password": "123"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "An account with this email already exists" in page
    assert "too short" in page
    assert get_user_model().objects.count() == 1
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_login_with_email_and_logout(client):
    client.post(reverse("accounts:signup"), SIGNUP)
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:orders")).status_code == 302  # to login

    bad = client.post(reverse("accounts:login"), {"username": "ada@example.com", "password": "x"})
    assert bad.status_code == 200 and "correct" in bad.content.decode()
    good = client.post(
        reverse("accounts:login"),
        {"username": "ADA@example.com", "password": SIGNUP["password"]},
    )
    assert good.status_code == 302
    assert client.get(reverse("accounts:orders")).status_code == 200
