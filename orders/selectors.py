"""Reads about orders that need more than one line of ORM."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from .models import Order, OrderItem, Payment


def quantities_reserved_by_unpaid_orders(*, product_ids: Iterable[int]) -> dict[int, int]:
    """{product id: units} held by orders still awaiting payment.

    Checkout takes these units out of the shop's stock; until the order is
    paid (the warehouse then ships them) or cancelled (they come back), the
    warehouse still counts them as on hand.
    """
    rows = (
        OrderItem.objects.filter(
            product_id__in=list(product_ids),
            order__status__in=(Order.Status.PENDING_PAYMENT, Order.Status.CONFIRMING_PAYMENT),
        )
        .values("product_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["product_id"]: row["units"] for row in rows}


def pay_again_until(payment: Payment) -> datetime | None:
    """Until when the shopper may pay for this order with another card, or None if not.

    Only a declined card can be replaced, and only while the shop would still
    wait for an unpaid order (ORDERLY_ABANDONED_ORDER_SECONDS after the
    decline). A paid order, a charge in progress, and an order given up on
    for another reason (the gateway failing for good, abandoned) cannot be
    paid again.
    """
    if payment.status != Payment.Status.DECLINED or payment.settled_at is None:
        return None
    deadline = payment.settled_at + timedelta(seconds=settings.ORDERLY_ABANDONED_ORDER_SECONDS)
    return deadline if timezone.now() < deadline else None
