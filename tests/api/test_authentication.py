"""API keys: bearer only, hashed at rest, revocable, rate-limited; no session, no cookies."""

import re
import time

import pytest
import redis

from api import auth
from api.models import ApiClient
from orders.models import Order
from tests.processes import free_port


def _unauthorized(response):
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Order.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/products", "/api/v1/orders/" + "0" * 32])
def test_a_request_without_a_key_is_a_401(client, db, path):
    _unauthorized(client.get(path))


def test_a_wrong_key_is_a_401(post_order, order_body, api_key):
    wrong = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    _unauthorized(post_order(order_body(), key=wrong))
    _unauthorized(post_order(order_body(), key="not-a-key-at-all"))


def test_a_revoked_key_is_a_401(post_order, order_body, make_api_client):
    _client, key = make_api_client(is_active=False)
    _unauthorized(post_order(order_body(), key=key))


def test_a_shoppers_session_does_not_authorize_the_api(client, django_user_model, stocked):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw")
    client.force_login(user)
    _unauthorized(client.get("/api/v1/products"))


def test_the_api_never_sets_cookies(client, post_order, order_body, django_user_model, api_key):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw")
    client.force_login(user)
    responses = [
        post_order(order_body()),
        post_order({"bad": 1}),
        client.get("/api/v1/products", headers={"Authorization": f"Bearer {api_key}"}),
        client.get("/api/v1/products"),
    ]
    for response in responses:
        assert not response.cookies, (response.status_code, response.cookies)
        assert "Set-Cookie" not in response


def test_only_a_hash_of_the_key_is_stored(make_api_client):
    client, key = make_api_client()
    stored = ApiClient.objects.filter(pk=client.pk).values().get()
    assert all(key not in str(value) for value in stored.values())
    assert len(stored["key_hash"]) == 64


def test_over_its_rate_a_key_gets_429_with_retry_after(client, make_api_client, stocked):
    _api_client, key = make_api_client(rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    statuses = [client.get("/api/v1/products", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/products", headers=headers)
    assert response["Content-Type"] == "application/problem+json"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_admin_shows_a_new_key_once_and_it_works(admin_client, client, db):
    response = admin_client.post(
        "/admin/api/apiclient/add/",
        {"name": "Mobile app", "is_active": "on", "rate_limit_per_minute": "60"},
    )
    shown = re.search(r"ordy_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", response.content.decode())
    assert shown, response.content.decode()[:2000]
    key = shown.group(0)
    # Not in a cookie (Django's message storage would put it in a signed, readable one).
    assert all(key not in morsel.value for morsel in response.cookies.values())
    assert "no-store" in response["Cache-Control"]
    works = client.get("/api/v1/products", headers={"Authorization": f"Bearer {key}"})
    assert works.status_code == 200
    change = admin_client.get(f"/admin/api/apiclient/{ApiClient.objects.get().pk}/change/")
    assert key not in change.content.decode()


def test_the_rate_is_one_count_for_every_web_process(client, make_api_client, stocked, settings):
    """The count lives in Redis, not in a process: another web process's requests use it up."""
    api_client, key = make_api_client(rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/products", headers=headers).status_code == 200
    # A second gunicorn worker takes the next two requests of this minute.
    other_process = redis.Redis.from_url(settings.ORDERLY_LOCK_REDIS_URL)
    window = int(time.time() // auth.WINDOW_SECONDS)
    other_process.incrby(f"orderly:api-rate:{api_client.key_prefix}:{window}", 2)
    assert client.get("/api/v1/products", headers=headers).status_code == 429


def test_while_redis_does_not_answer_requests_pass_and_say_so(
    client, make_api_client, stocked, settings, caplog
):
    _api_client, key = make_api_client(rate_limit_per_minute=1)
    settings.ORDERLY_LOCK_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    headers = {"Authorization": f"Bearer {key}"}
    statuses = [client.get("/api/v1/products", headers=headers).status_code for _ in range(2)]
    assert statuses == [200, 200]
    assert "API rate limit not counted" in caplog.text
