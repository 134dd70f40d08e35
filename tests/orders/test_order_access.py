import uuid

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import ProductFactory
from tests.helpers import checkout_form


@pytest.fixture
def placed(client, gateway):
    product = ProductFactory()
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form())
    from orders.models import Order

    return Order.objects.get(public_id=response.url.split("/")[-2])


def test_the_session_that_placed_the_order_sees_it_and_its_status(client, placed):
    page = client.get(placed.get_absolute_url())
    assert page.status_code == 200
    assert placed.number in page.content.decode()
    status = client.get(reverse("orders:status", args=[placed.public_id]))
    assert status.status_code == 200
    assert "no-cache" in status["Cache-Control"]
    data = status.json()
    assert data["number"] == placed.number
    assert [step["name"] for step in data["steps"]] == ["payment", "email", "invoice"]
    assert data["final"] is False


@pytest.mark.parametrize("name", ["detail", "status", "invoice"])
def test_another_browser_gets_404_for_every_order_url(placed, name):
    stranger = Client()
    assert stranger.get(reverse(f"orders:{name}", args=[placed.public_id])).status_code == 404


def test_another_signed_in_customer_gets_404(placed, django_user_model):
    stranger = Client()
    stranger.force_login(
        django_user_model.objects.create_user(username="eve", email="eve@example.com")
    )
    assert stranger.get(placed.get_absolute_url()).status_code == 404


def test_tampered_or_malformed_order_ids_are_404(client, placed):
    assert client.get(reverse("orders:detail", args=[uuid.uuid4()])).status_code == 404
    tampered = str(placed.public_id)[:-1] + ("0" if str(placed.public_id)[-1] != "0" else "1")
    assert client.get(f"/orders/{tampered}/").status_code == 404
    assert client.get("/orders/12/").status_code == 404
    assert client.get("/orders/not-a-uuid/status/").status_code == 404


def test_invoice_not_ready_is_404(client, placed):
    assert client.get(reverse("orders:invoice", args=[placed.public_id])).status_code == 404
