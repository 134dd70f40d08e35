"""Checkout to done: how long a shopper waits until every step of an order is final.

After each task run that may have settled an order's last step (on the
order, or on one of its webhook deliveries) the order's progress is read
the way the order page reads it. The first time every step is
final, the time since checkout is observed once: a Redis key set with NX
makes "first" hold across processes, since the e-mail and the invoice often
finish at the same moment in two different workers.

Runs that cannot settle the last step are not asked about (each ask cost
about 4.7 ms of CPU and five queries): a run that will be retried
changed no step, and the payment's tasks never settle the last one, since
every transaction that settles a payment (paid, declined, given up on,
refunded) also publishes the e-mail that the order's e-mail step then
waits for (orders.services._settle, orders.reconciliation.refund_payment).
Whichever run settles the last step commits before it asks, so it sees
every step final.
"""

import logging

import redis
from celery import states
from django.conf import settings
from django.utils import timezone
from prometheus_client import Histogram

from jobs import redis_clients
from notifications.models import WebhookDelivery
from orders.models import Order
from storefront.progress import order_progress

from . import metric_files  # noqa: F401 (names this process's metric files first)

logger = logging.getLogger(__name__)

CHECKOUT_TO_FINAL = Histogram(
    "orderly_checkout_to_final_seconds",
    "Time from checkout until every step on the order page is final (done, failed, skipped).",
    buckets=(0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 300, 900, 3600),
)
OBSERVED_KEY = "orderly:metrics:order-final:{}"
OBSERVED_TTL_SECONDS = 7 * 24 * 3600
# Their runs never settle an order's last step (see above): the payment's tasks.
NEVER_SETTLE_THE_LAST_STEP = frozenset({"orders.charge_payment", "orders.confirm_payment"})


def _redis(url: str) -> redis.Redis:
    return redis_clients.client(url, socket_timeout=2)


def order_id_of(task, args) -> int | None:
    """The order a task worked on, from its business object and first argument."""
    business_object = getattr(task, "business_object", None)
    if not args or business_object not in ("orders.Order", "notifications.WebhookDelivery"):
        return None
    if business_object == "orders.Order":
        return args[0]
    return WebhookDelivery.objects.filter(pk=args[0]).values_list("order_id", flat=True).first()


def observe_if_final(*, order_id: int) -> bool:
    """Observe checkout-to-final for this order if it just became final; True if observed."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or not order_progress(order)["final"]:
        return False
    client = _redis(settings.ORDERLY_LOCK_REDIS_URL)
    if not client.set(OBSERVED_KEY.format(order.public_id), 1, nx=True, ex=OBSERVED_TTL_SECONDS):
        return False
    CHECKOUT_TO_FINAL.observe((timezone.now() - order.created_at).total_seconds())
    return True


def may_settle_the_last_step(task, state) -> bool:
    """False for a run that cannot have made the order final (see the module's docstring)."""
    return state != states.RETRY and getattr(task, "name", None) not in NEVER_SETTLE_THE_LAST_STEP


def on_postrun(task=None, args=None, state=None, **kwargs):
    if not may_settle_the_last_step(task, state):
        return
    try:
        order_id = order_id_of(task, args)
        if order_id is not None:
            observe_if_final(order_id=order_id)
    except Exception:  # a metric must never fail or slow a task's outcome
        logger.warning("checkout-to-final not recorded for %s%r", task.name, args, exc_info=True)


def install() -> None:
    from celery import signals

    signals.task_postrun.connect(on_postrun, dispatch_uid="orderly-metrics-order-final")
