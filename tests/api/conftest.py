import json
import uuid

import pytest

from api import keys
from api.models import ApiClient
from tests.factories import ProductFactory
from tests.helpers import CHECKOUT


@pytest.fixture
def make_api_client(db):
    """make_api_client(**fields) -> (ApiClient, its key), made as admin makes one."""

    def make(name="Partner", **fields):
        key, prefix, key_hash = keys.new_key()
        client = ApiClient.objects.create(name=name, key_prefix=prefix, key_hash=key_hash, **fields)
        return client, key

    return make


@pytest.fixture
def api_key(make_api_client):
    return make_api_client()[1]


@pytest.fixture
def stocked(db):
    return ProductFactory(stock=5)


@pytest.fixture
def order_body(card_token, stocked):
    """order_body(**overrides): a valid POST body with a fresh card token."""

    def body(**overrides):
        return {
            "items": [{"product": stocked.pk, "quantity": 2}],
            **CHECKOUT,
            "payment_method": card_token(),
            **overrides,
        }

    return body


@pytest.fixture
def post_order(client, api_key):
    """post_order(body, key=..., idempotency_key=..., **extra): POST /api/v1/orders."""

    def post(body, *, key=api_key, idempotency_key="auto", content_type="application/json", **kw):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if idempotency_key == "auto":
            idempotency_key = str(uuid.uuid4())
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return client.post(
            "/api/v1/orders", data=data, content_type=content_type, headers=headers, **kw
        )

    return post
