"""An order placed over the API is followed through its status URL until every step is final."""

import pytest

from tests.helpers import wait_for


@pytest.mark.worker
def test_an_api_order_polled_at_its_location_completes_with_a_real_worker(
    worker, client, post_order, order_body, api_key
):
    location = post_order(order_body())["Location"]
    headers = {"Authorization": f"Bearer {api_key}"}

    def final_state():
        response = client.get(location, headers=headers)
        assert response.status_code == 200
        return response if response.json()["final"] else None

    response = wait_for(final_state, timeout=60, what="the API order's steps to finish")

    body = response.json()
    assert body["status"] == "paid"
    assert [step["state"] for step in body["steps"]] == ["done", "done", "done"]
    assert "Retry-After" not in response
