"""Checkout load for bench/run.py: each user adds one product to a cart and checks out.

Only the checkout POST is measured (named "checkout"); the add-to-cart request
that prepares each iteration is excluded from the figures.
"""

import os
import random

from locust import HttpUser, constant, constant_throughput, task

PRODUCT_IDS = [int(pk) for pk in os.environ["BENCH_PRODUCT_IDS"].split(",")]
CHECKOUT = {
    "full_name": "Bench Shopper",
    "email": "bench@example.com",
    "shipping_address": "1 Load Street",
}
# The card goes to the gateway, as the checkout page's script sends it; the form
# posts the token (a request of its own, named "tokenize", not in the checkout figure).
GATEWAY_URL = os.environ.get("PAYMENT_GATEWAY_PUBLIC_URL") or os.environ.get(
    "PAYMENT_GATEWAY_URL", ""
)
PUBLISHABLE_KEY = os.environ.get("PAYMENT_GATEWAY_PUBLISHABLE_KEY", "pk_test_sandbox")


def card_token(client, host: str) -> str:
    """A fresh single-use token for the succeeding test card, from the gateway."""
    response = client.post(
        f"{GATEWAY_URL or host + '/sandbox/gateway'}/payment_methods",
        json={"card": {"number": "4242424242424242"}},
        headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
        name="tokenize",
    )
    return response.json().get("id", "") if response.status_code == 201 else ""


# BENCH_RATE_PER_USER: checkouts per second per user (a sustained rate); unset: flat out.
RATE = float(os.environ.get("BENCH_RATE_PER_USER", "0"))


class Shopper(HttpUser):
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    def on_start(self):
        self.client.get("/", name="catalog")
        self.csrf = self.client.cookies.get("csrftoken")

    @task
    def checkout(self):
        form = {"csrfmiddlewaretoken": self.csrf}
        self.client.post(
            "/cart/add/",
            {**form, "product_id": random.choice(PRODUCT_IDS), "quantity": 1},  # noqa: S311
            name="add to cart",
            allow_redirects=False,
        )
        with self.client.post(
            "/checkout/",
            {**form, **CHECKOUT, "payment_method": card_token(self.client, self.host)},
            name="checkout",
            allow_redirects=False, catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 302:
                response.failure(f"checkout answered {response.status_code}")
