"""Open order pages polling their status for bench/run.py's growth section.

Each user checks out once (so its session may read the order), then polls
the order's status endpoint once a second, as the order page does. Only
the polls are measured (named "status").
"""

import os
import random

from locust import HttpUser, constant_throughput, task

from bench.locustfile import CHECKOUT, card_token

PRODUCT_IDS = [int(pk) for pk in os.environ["BENCH_PRODUCT_IDS"].split(",")]


class OpenOrderPage(HttpUser):
    wait_time = constant_throughput(1)

    def on_start(self):
        self.client.get("/", name="catalog")
        form = {"csrfmiddlewaretoken": self.client.cookies.get("csrftoken")}
        self.client.post("/cart/add/", {**form, "product_id": random.choice(PRODUCT_IDS),  # noqa: S311
                                        "quantity": 1}, name="add to cart", allow_redirects=False)  # fmt: skip
        token = card_token(self.client, self.host)
        placed = self.client.post("/checkout/", {**form, **CHECKOUT, "payment_method": token},
                                  name="checkout", allow_redirects=False)  # fmt: skip
        self.status_url = placed.headers["Location"].rstrip("/") + "/status/"

    @task
    def poll(self):
        self.client.get(self.status_url, name="status")
