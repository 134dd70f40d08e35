"""Racing requests with one Idempotency-Key place one order and all get its answer (PostgreSQL)."""

import threading
import uuid

import pytest
import requests
from django.db import connection

from orders.models import Order

RACERS = 4


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the race is proven on PostgreSQL (DATABASE_URL=postgres://...)")


def test_racing_requests_with_one_key_place_one_order_and_get_identical_responses(
    postgres_only, live_server, order_body, api_key
):
    body, key = order_body(), str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key}
    start = threading.Barrier(RACERS)
    responses = [None] * RACERS

    def race(index):
        with requests.Session() as session:
            start.wait()
            responses[index] = session.post(
                f"{live_server.url}/api/v1/orders", json=body, headers=headers, timeout=30
            )

    threads = [threading.Thread(target=race, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [response.status_code for response in responses] == [202] * RACERS, [
        response.text for response in responses
    ]
    assert len({response.content for response in responses}) == 1
    assert sum(response.headers.get("Idempotent-Replayed") == "true" for response in responses) == (
        RACERS - 1
    )
    assert Order.objects.count() == 1
