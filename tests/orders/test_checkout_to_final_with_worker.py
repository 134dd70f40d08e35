"""The checkout-to-final metric is observed once per order, by the run that settles its last step.

Only the e-mail and invoice runs ask whether the order became final (the
payment's tasks never settle the last step, and a retried run settled
nothing; ops.order_metrics). These orders go through a real worker on each
path a payment can take, and the metric's once-per-order key must be set
as soon as the order page shows every step final.
"""

import pytest
import redis
from django.conf import settings

from ops.order_metrics import OBSERVED_KEY, may_settle_the_last_step
from orders.tasks import charge_payment, confirm_payment
from reports.tasks import generate_invoice_pdf
from tests.factories import ProductFactory
from tests.helpers import wait_for
from tests.orders.test_pipeline_with_worker import checkout, wait_until_final

pytestmark = pytest.mark.worker


def observed(order) -> bool:
    client = redis.Redis.from_url(settings.ORDERLY_LOCK_REDIS_URL)
    return bool(client.exists(OBSERVED_KEY.format(order.public_id)))


@pytest.mark.parametrize(
    "card_number",
    [
        "4242424242424242",  # paid: the e-mail and the invoice finish, often together
        "4000 0000 0000 0002",  # declined: the failure notice is the last step
        "4000000000000119",  # the gateway fails twice: retried charge runs, then paid
    ],
)
def test_the_order_is_observed_final_once_its_last_step_settles(client, worker, card_number):
    order = checkout(client, {ProductFactory(): 1}, card_number=card_number)
    assert not observed(order)

    wait_until_final(client, order, worker)

    wait_for(lambda: observed(order), timeout=10, what="checkout-to-final observed",
             diagnostics=worker.log_tail)  # fmt: skip


def test_only_runs_that_may_settle_the_last_step_ask():
    assert may_settle_the_last_step(generate_invoice_pdf, "SUCCESS")
    assert may_settle_the_last_step(generate_invoice_pdf, "FAILURE")  # a dead letter settles
    assert not may_settle_the_last_step(generate_invoice_pdf, "RETRY")
    assert not may_settle_the_last_step(charge_payment, "SUCCESS")
    assert not may_settle_the_last_step(confirm_payment, "SUCCESS")
