"""Checkout to done: how long a shopper waits until every step of an order is final.

After each task that works on an order (or on one of its webhook deliveries)
the order's progress is read the way the order page reads it. The first time
every step is final, the time since checkout is observed once: a Redis key
set with NX makes "first" hold across processes, since the e-mail and the
invoice often finish at the same moment in two different workers.
"""

import logging
from functools import lru_cache

import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client import Histogram

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


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


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


def on_postrun(task=None, args=None, **kwargs):
    try:
        order_id = order_id_of(task, args)
        if order_id is not None:
            observe_if_final(order_id=order_id)
    except Exception:  # a metric must never fail or slow a task's outcome
        logger.warning("checkout-to-final not recorded for %s%r", task.name, args, exc_info=True)


def install() -> None:
    from celery import signals

    signals.task_postrun.connect(on_postrun, dispatch_uid="orderly-metrics-order-final")
