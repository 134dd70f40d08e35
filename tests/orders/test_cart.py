import pytest
from django.urls import reverse

from tests.factories import ProductFactory


def cart_contents(client):
    return client.session.get("cart", {})


@pytest.mark.django_db
def test_adding_a_product_puts_it_in_the_cart_and_returns_to_the_page(client, product):
    response = client.post(
        reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 2, "next": "/"}
    )
    assert response.status_code == 302 and response.url == "/"
    assert cart_contents(client) == {str(product.pk): 2}
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 3})
    assert cart_contents(client) == {str(product.pk): 5}


@pytest.mark.django_db
def test_next_pointing_off_site_is_ignored(client, product):
    response = client.post(
        reverse("orders:cart_add"),
        {"product_id": product.pk, "quantity": 1, "next": "https://evil.example/"},
    )
    assert response.url == reverse("orders:cart")


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1.5", "", "100"])
def test_invalid_quantity_is_refused_with_a_message_and_the_cart_unchanged(
    client, product, quantity
):
    response = client.post(
        reverse("orders:cart_add"), {"product_id": product.pk, "quantity": quantity}
    )
    assert response.status_code == 400
    assert "whole number between 1 and 99" in response.content.decode()
    assert cart_contents(client) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("product_id", ["999999", "abc", ""])
def test_unknown_product_is_a_404_with_a_message(client, product_id):
    response = client.post(reverse("orders:cart_add"), {"product_id": product_id, "quantity": 1})
    assert response.status_code == 404
    assert "does not exist" in response.content.decode()
    assert cart_contents(client) == {}


@pytest.mark.django_db
def test_inactive_product_cannot_be_added(client):
    retired = ProductFactory(is_active=False)
    response = client.post(reverse("orders:cart_add"), {"product_id": retired.pk, "quantity": 1})
    assert response.status_code == 404


@pytest.mark.django_db
def test_more_than_stock_is_refused_saying_how_many_are_left(client):
    low = ProductFactory(name="Moka pot", stock=2)
    response = client.post(reverse("orders:cart_add"), {"product_id": low.pk, "quantity": 3})
    assert response.status_code == 400
    assert "Only 2 of Moka pot left" in response.content.decode()
    assert cart_contents(client) == {}


@pytest.mark.django_db
def test_sold_out_product_says_sold_out(client):
    gone = ProductFactory(name="Kenya AA", stock=0)
    response = client.post(reverse("orders:cart_add"), {"product_id": gone.pk, "quantity": 1})
    assert response.status_code == 400
    assert "Kenya AA is sold out" in response.content.decode()


@pytest.mark.django_db
def test_update_and_remove_change_one_line(client, product):
    other = ProductFactory()
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    client.post(reverse("orders:cart_add"), {"product_id": other.pk, "quantity": 1})

    client.post(reverse("orders:cart_update", args=[product.pk]), {"quantity": 4})
    assert cart_contents(client) == {str(product.pk): 4, str(other.pk): 1}

    response = client.post(reverse("orders:cart_update", args=[product.pk]), {"quantity": "0"})
    assert response.status_code == 400
    assert cart_contents(client)[str(product.pk)] == 4

    client.post(reverse("orders:cart_remove", args=[other.pk]))
    assert cart_contents(client) == {str(product.pk): 4}


@pytest.mark.django_db
def test_cart_page_shows_lines_total_and_header_count(client):
    mug = ProductFactory(name="Stoneware mug", price="12.00")
    client.post(reverse("orders:cart_add"), {"product_id": mug.pk, "quantity": 3})
    page = client.get(reverse("orders:cart")).content.decode()
    assert "Stoneware mug" in page
    assert "36.00" in page
    assert "Cart (3)" in " ".join(page.split())


@pytest.mark.django_db
def test_cart_forms_require_post(client, product):
    assert client.get(reverse("orders:cart_add")).status_code == 405
