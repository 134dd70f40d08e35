"""Each bad request gets the right 4xx as a problem document, and no order or reserved stock."""

import json

import pytest

from api.models import IdempotencyKey
from api.problems import MAX_BODY_BYTES
from orders.models import Order


@pytest.fixture
def refused(stocked):
    """refused(response, status, type): the response is that problem, and nothing was done."""

    def check(response, status, problem_type):
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status
        assert problem["type"].endswith(f"/{problem_type}")
        assert problem["title"] and problem["detail"]
        assert not Order.objects.exists()
        stocked.refresh_from_db()
        assert stocked.stock == 5
        return problem

    return check


def test_a_missing_idempotency_key_is_a_400(post_order, order_body, refused):
    refused(post_order(order_body(), idempotency_key=None), 400, "idempotency-key")


@pytest.mark.parametrize("key", ["x" * 256, "has space", "tab\tkey", ""])
def test_a_malformed_idempotency_key_is_a_400(post_order, order_body, refused, key):
    refused(post_order(order_body(), idempotency_key=key), 400, "idempotency-key")


def test_an_unknown_product_is_a_422_naming_the_item(post_order, order_body, refused, stocked):
    items = [{"product": stocked.pk, "quantity": 1}, {"product": "NO-SUCH-SKU", "quantity": 1}]
    problem = refused(post_order(order_body(items=items)), 422, "validation-error")
    assert problem["errors"][0]["field"] == "items.1.product"


def test_a_quantity_over_stock_is_a_409(post_order, order_body, refused, stocked):
    problem = refused(
        post_order(order_body(items=[{"product": stocked.pk, "quantity": 6}])), 409, "out-of-stock"
    )
    assert "Only 5" in problem["detail"]


@pytest.mark.parametrize("quantity", [0, 100, -1, "two"])
def test_a_quantity_out_of_range_is_a_422(post_order, order_body, refused, stocked, quantity):
    items = [{"product": stocked.pk, "quantity": quantity}]
    problem = refused(post_order(order_body(items=items)), 422, "validation-error")
    assert problem["errors"][0]["field"] == "items.0.quantity"


def test_an_empty_item_list_is_a_422(post_order, order_body, refused):
    refused(post_order(order_body(items=[])), 422, "validation-error")


def test_a_bad_email_is_a_422_with_the_checkout_forms_message(post_order, order_body, refused):
    problem = refused(post_order(order_body(email="not-an-email")), 422, "validation-error")
    assert problem["errors"][0]["field"] == "email"


def test_an_unusable_card_token_is_a_422_on_payment_method(post_order, order_body, refused):
    problem = refused(
        post_order(order_body(payment_method="pm_madeup12345")), 422, "validation-error"
    )
    assert problem["errors"][0]["field"] == "payment_method"


def test_a_body_that_is_not_json_is_a_400(post_order, refused):
    refused(post_order("{not json"), 400, "malformed-json")


@pytest.mark.parametrize("depth", [20, 5000])
def test_a_deeply_nested_body_is_a_400(post_order, order_body, refused, depth):
    body = json.dumps(order_body())[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    refused(post_order(body), 400, "too-deeply-nested")


def test_a_body_over_the_limit_is_a_413(post_order, order_body, refused):
    body = order_body(shipping_address="x" * MAX_BODY_BYTES)
    refused(post_order(body), 413, "body-too-large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_of_another_content_type_is_a_415(post_order, order_body, refused, content_type):
    refused(
        post_order(json.dumps(order_body()), content_type=content_type),
        415,
        "unsupported-media-type",
    )


def test_an_unknown_field_is_a_422(post_order, order_body, refused):
    problem = refused(post_order(order_body(coupon="FREE")), 422, "validation-error")
    assert problem["errors"][0]["field"] == "coupon"


def test_an_unknown_field_in_an_item_is_a_422(post_order, order_body, refused, stocked):
    items = [{"product": stocked.pk, "quantity": 1, "price": "0.01"}]
    problem = refused(post_order(order_body(items=items)), 422, "validation-error")
    assert problem["errors"][0]["field"] == "items.0.price"


@pytest.mark.parametrize("body", ["[1, 2]", "null", '"an order"', "42", ""])
def test_a_body_that_is_not_an_order_object_is_a_422(post_order, refused, body):
    refused(post_order(body), 422, "validation-error")


def test_an_unreachable_gateway_is_a_503_and_the_key_can_be_retried(
    post_order, order_body, refused, settings
):
    body = order_body()
    settings.PAYMENT_GATEWAY_URL = "http://127.0.0.1:9"  # nothing listens there

    problem = refused(post_order(body, idempotency_key="retry-me"), 503, "gateway-unreachable")

    assert "Nothing was charged" in problem["detail"]
    assert not IdempotencyKey.objects.exists()


def test_a_product_id_past_any_column_is_a_422(post_order, order_body, refused):
    items = [{"product": 2**70, "quantity": 1}]
    refused(post_order(order_body(items=items)), 422, "validation-error")


def test_a_lone_surrogate_in_the_body_is_a_400(post_order, order_body, refused):
    body = json.dumps(order_body(items=[{"product": "SKU", "quantity": 1}]))
    refused(post_order(body.replace('"SKU"', '"\\ud800"')), 400, "malformed-json")


def test_a_sku_with_a_nul_is_a_422_not_a_database_error(post_order, order_body, refused):
    items = [{"product": "COF\x00001", "quantity": 1}]
    problem = refused(post_order(order_body(items=items)), 422, "validation-error")
    assert problem["errors"][0]["field"].startswith("items.0.product")


def test_a_body_past_djangos_upload_limit_is_a_413_too(post_order, refused, settings):
    body = '{"x": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    refused(post_order(body), 413, "body-too-large")
