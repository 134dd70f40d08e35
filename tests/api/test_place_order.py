"""POST /api/v1/orders: a new Idempotency-Key places the order; a repeat gets the first answer."""

import uuid

from api import idempotency
from api.models import ApiOrder, IdempotencyKey
from orders.models import Order


def test_new_key_places_the_order_and_answers_202_with_location_and_steps(
    post_order, order_body, stocked
):
    response = post_order(order_body())

    assert response.status_code == 202, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["public_id"] == str(order.public_id)
    assert response["Location"] == body["status_url"]
    assert body["status_url"].endswith(f"/api/v1/orders/{order.public_id}")
    assert [step["name"] for step in body["steps"]] == ["payment", "email", "invoice"]
    assert body["final"] is False
    stocked.refresh_from_db()
    assert stocked.stock == 3
    assert ApiOrder.objects.get().order == order


def test_same_key_and_body_answers_the_first_response_byte_for_byte_without_a_second_order(
    post_order, order_body
):
    body, key = order_body(), str(uuid.uuid4())
    first = post_order(body, idempotency_key=key)
    again = post_order(body, idempotency_key=key)

    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_a_422_naming_the_conflict(post_order, order_body):
    key = str(uuid.uuid4())
    assert post_order(order_body(), idempotency_key=key).status_code == 202

    response = post_order(order_body(full_name="Someone Else"), idempotency_key=key)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert "Idempotency-Key" in response.json()["detail"]
    assert Order.objects.count() == 1


def test_a_key_still_processing_answers_409(post_order, order_body, make_api_client, monkeypatch):
    client, key = make_api_client()
    body = order_body()
    IdempotencyKey.objects.create(
        client=client,
        key="in-flight",
        request_fingerprint=idempotency.fingerprint(body),
        locked_at=idempotency.timezone.now(),
    )
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)

    response = post_order(body, key=key, idempotency_key="in-flight")

    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-key-in-use")
    assert response["Retry-After"] == "1"
    assert not Order.objects.exists()


def test_a_key_whose_request_died_is_taken_over_after_its_lease(
    post_order, order_body, make_api_client
):
    client, key = make_api_client()
    body = order_body()
    long_ago = idempotency.timezone.now() - idempotency.timedelta(hours=1)
    IdempotencyKey.objects.create(
        client=client,
        key="orphan",
        request_fingerprint=idempotency.fingerprint(body),
        locked_at=long_ago,
    )

    assert post_order(body, key=key, idempotency_key="orphan").status_code == 202
    assert Order.objects.count() == 1


def test_keys_are_per_client(post_order, order_body, make_api_client):
    _, other_key = make_api_client(name="Other")
    key = str(uuid.uuid4())
    assert post_order(order_body(), idempotency_key=key).status_code == 202
    assert post_order(order_body(), key=other_key, idempotency_key=key).status_code == 202
    assert Order.objects.count() == 2


def test_a_refused_order_releases_its_key_so_a_retry_can_succeed(post_order, order_body, stocked):
    key = str(uuid.uuid4())
    body = order_body(items=[{"product": stocked.pk, "quantity": 6}])
    assert post_order(body, idempotency_key=key).status_code == 409
    stocked.stock = 10
    stocked.save()

    assert post_order(body, idempotency_key=key).status_code == 202


def test_a_product_can_be_named_by_sku(post_order, order_body, stocked):
    response = post_order(order_body(items=[{"product": stocked.sku, "quantity": 1}]))
    assert response.status_code == 202
    assert Order.objects.get().items.get().sku == stocked.sku


def test_a_key_past_its_hours_is_expired_and_places_a_new_order(
    post_order, order_body, make_api_client, settings
):
    settings.ORDERLY_API_IDEMPOTENCY_HOURS = 24
    _, key = make_api_client()
    body = order_body()
    assert post_order(body, key=key, idempotency_key="old-key").status_code == 202
    IdempotencyKey.objects.update(
        created_at=idempotency.timezone.now() - idempotency.timedelta(hours=25)
    )

    again = post_order(
        body | {"payment_method": order_body()["payment_method"]},
        key=key,
        idempotency_key="old-key",
    )

    assert again.status_code == 202
    assert "Idempotent-Replayed" not in again
    assert Order.objects.count() == 2
