"""Many shoppers, little stock: row locks make the last items go to exactly as many buyers."""

import threading

import pytest
import requests

from inventory.models import Product
from orders.models import Order
from tests.factories import ProductFactory
from tests.helpers import checkout_form

SHOPPERS = 50
STOCK = 10


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_checkouts_for_ten_in_stock_sell_exactly_ten(
    live_server, gateway, settings
):
    # Fifty checkouts at once each ask the gateway (this same live server) about
    # their card token; on a loaded machine an answer can take longer than the
    # shipped 10 s read timeout, which makes a "could not reach the payment
    # provider" 400. This test is about stock: give the lookups room.
    settings.PAYMENT_GATEWAY_TIMEOUT = (3.0, 60.0)
    engine = settings.DATABASES["default"]["ENGINE"]
    product = ProductFactory(name="Last espresso cups", stock=STOCK)
    sessions = []
    for _ in range(SHOPPERS):  # each shopper has the product in their cart
        session = requests.Session()
        session.get(live_server.url + "/", timeout=10)
        token = session.cookies["csrftoken"]
        added = session.post(
            f"{live_server.url}/cart/add/",
            {"product_id": product.pk, "quantity": 1, "csrfmiddlewaretoken": token},
            timeout=10,
        )
        assert added.status_code == 200, added.text[:300]
        sessions.append((session, {**checkout_form(), "csrfmiddlewaretoken": token}))

    start = threading.Barrier(SHOPPERS)
    results: list[tuple[int, str]] = []

    def checkout(session, form):
        start.wait()
        response = session.post(
            f"{live_server.url}/checkout/",
            form,
            allow_redirects=False,
            timeout=60,
        )
        results.append((response.status_code, response.text))

    threads = [threading.Thread(target=checkout, args=pair) for pair in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    statuses = sorted(status for status, _ in results)
    others = [text[:300] for status, text in results if status not in (302, 409)]
    assert statuses == [302] * STOCK + [409] * (SHOPPERS - STOCK), (engine, statuses, others)
    refused = [text for status, text in results if status == 409]
    assert all("Last espresso cups is sold out" in text for text in refused)
    assert Order.objects.count() == STOCK
    assert Product.objects.get(pk=product.pk).stock == 0
