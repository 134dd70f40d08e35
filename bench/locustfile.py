"""Load for bench/run.py, on Locust's FastHttpUser (geventhttpclient: a few times cheaper per
request than HttpUser's requests, so the load generator leaves the two cores to the shop).

Three shoppers, one per run (bench/load.py names the class on Locust's command line):

- `Shopper`: the HTML checkout form. Adds one product to the cart and checks out
  (request "checkout"; the add-to-cart that prepares it is "add to cart").
- `ApiShopper`: the JSON API, `POST /api/v1/orders` with a bearer key
  (BENCH_API_KEY) and a new `Idempotency-Key` per order (request "api checkout").
- `NaiveShopper`: the seed-naive variant's JSON checkout (bench/naive.py,
  request "naive checkout").

Each first tokenizes the card at the gateway, as the checkout page's script does
(request "tokenize", not in the checkout figures).
"""

import json
import os
import random
import uuid
from urllib.parse import urlencode

from locust import constant, constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

PRODUCT_IDS = [int(pk) for pk in os.environ["BENCH_PRODUCT_IDS"].split(",")]
CHECKOUT = {
    "full_name": "Bench Shopper",
    "email": "bench@example.com",
    "shipping_address": "1 Load Street",
}
GATEWAY_URL = os.environ.get("PAYMENT_GATEWAY_PUBLIC_URL") or os.environ.get(
    "PAYMENT_GATEWAY_URL", ""
)
PUBLISHABLE_KEY = os.environ.get("PAYMENT_GATEWAY_PUBLISHABLE_KEY", "pk_test_sandbox")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def card_token(client, host: str) -> str:
    """A fresh single-use token for the succeeding test card, from the gateway."""
    response = client.post(
        f"{GATEWAY_URL or host + '/sandbox/gateway'}/payment_methods",
        json={"card": {"number": "4242424242424242"}},
        headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
        name="tokenize",
    )
    return json.loads(response.content).get("id", "") if response.status_code == 201 else ""


# BENCH_RATE_PER_USER: checkouts per second per user (a sustained rate); unset: flat out.
RATE = float(os.environ.get("BENCH_RATE_PER_USER", "0"))


def product() -> int:
    return random.choice(PRODUCT_IDS)  # noqa: S311


class Shopper(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    def on_start(self):
        self.client.get("/", name="catalog")
        self.csrf = next(c.value for c in self.client.cookiejar if c.name == "csrftoken")

    @task
    def checkout(self):
        form = {"csrfmiddlewaretoken": self.csrf}
        self.client.post(
            "/cart/add/", urlencode({**form, "product_id": product(), "quantity": 1}),
            headers=FORM, name="add to cart", allow_redirects=False,
        )  # fmt: skip
        body = {**form, **CHECKOUT, "payment_method": card_token(self.client, self.host)}
        with self.client.post(
            "/checkout/", urlencode(body), headers=FORM, name="checkout",
            allow_redirects=False, catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 302:
                response.failure(f"checkout answered {response.status_code}")


def post_order(client, path, body, *, name, expect, headers=None):
    """POST a JSON order; a failure in Locust's figures unless it answers `expect`."""
    with client.post(path, json=body, headers=headers, name=name, catch_response=True) as response:
        if response.status_code != expect:
            response.failure(f"{name} answered {response.status_code}")


class ApiShopper(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    @task
    def checkout(self):
        body = {"items": [{"product": product(), "quantity": 1}], **CHECKOUT,
                "payment_method": card_token(self.client, self.host)}  # fmt: skip
        headers = {"Authorization": f"Bearer {os.environ['BENCH_API_KEY']}",
                   "Idempotency-Key": str(uuid.uuid4())}  # fmt: skip
        post_order(self.client, "/api/v1/orders", body, headers=headers, name="api checkout",
                   expect=202)  # fmt: skip


class NaiveShopper(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    @task
    def checkout(self):
        body = {"product": product(), "quantity": 1, **CHECKOUT,
                "payment_method": card_token(self.client, self.host)}  # fmt: skip
        post_order(self.client, "/bench/naive/orders", body, name="naive checkout", expect=200)
