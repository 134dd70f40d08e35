"""GET /api/v1/orders/{id} and /api/v1/products."""

import uuid

from django.utils import timezone

from api import idempotency
from api.models import IdempotencyKey
from api.tasks import purge_idempotency_keys


def test_an_order_is_read_with_its_steps_etag_and_retry_after(
    client, post_order, order_body, api_key
):
    location = post_order(order_body())["Location"]
    headers = {"Authorization": f"Bearer {api_key}"}

    response = client.get(location, headers=headers)

    assert response.status_code == 200
    assert response.json()["steps"][0]["state"] == "pending"
    assert int(response["Retry-After"]) >= 1
    again = client.get(location, headers={**headers, "If-None-Match": response["ETag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_a_client_reads_only_its_own_orders(client, post_order, order_body, make_api_client):
    location = post_order(order_body())["Location"]
    _, other_key = make_api_client(name="Other")

    response = client.get(location, headers={"Authorization": f"Bearer {other_key}"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_order_is_a_404(client, api_key):
    response = client.get(
        f"/api/v1/orders/{uuid.uuid4()}", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 404


def test_products_lists_the_catalog_with_stock(client, api_key, stocked):
    response = client.get("/api/v1/products", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": stocked.pk,
            "sku": stocked.sku,
            "name": stocked.name,
            "category": stocked.category,
            "price": "10.00",
            "currency": response.json()[0]["currency"],
            "stock": 5,
        }
    ]


def test_beat_purges_keys_older_than_the_documented_hours(make_api_client, settings):
    settings.ORDERLY_API_IDEMPOTENCY_HOURS = 24
    client, _ = make_api_client()
    old = IdempotencyKey.objects.create(client=client, key="old", request_fingerprint="x")
    new = IdempotencyKey.objects.create(client=client, key="new", request_fingerprint="x")
    IdempotencyKey.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - idempotency.timedelta(hours=25)
    )

    assert purge_idempotency_keys() == {"deleted": 1}
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [new.pk]
