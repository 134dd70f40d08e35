"""Overdue-step finder of the notifications app (jobs.services.overdue), registered in apps.py."""

from datetime import datetime, timedelta

from celery import signature
from django.utils import timezone

from jobs.selectors import without_recent_work
from orders.models import Order, Payment

from .models import EmailLog

# Orders settled longer ago than this are not looked at (the sweep stays cheap).
LOOKBACK = timedelta(days=1)
EMAILS = [
    # (task, e-mail kind, which settled orders must have had it)
    ("notifications.send_order_confirmation", EmailLog.Kind.ORDER_CONFIRMATION,
     {"status": Order.Status.PAID}),
    ("notifications.send_payment_failed_email", EmailLog.Kind.PAYMENT_FAILED,
     {"status": Order.Status.CANCELLED, "payment__status": Payment.Status.DECLINED}),
]  # fmt: skip


def overdue_order_emails(stale_before: datetime):
    """Settled orders whose e-mail was neither sent nor tried since `stale_before`."""
    since = timezone.now() - LOOKBACK
    for task, kind, settled in EMAILS:
        orders = (
            Order.objects.filter(
                **settled, payment__settled_at__lt=stale_before, payment__settled_at__gte=since
            )
            .exclude(emails__kind=kind)
            .only("pk", "public_id")[:200]
        )
        by_pk = {order.pk: order for order in orders}
        idle = without_recent_work(
            task, "orders.Order", {pk: f"order:{o.public_id}" for pk, o in by_pk.items()},
            since=stale_before,
        )  # fmt: skip
        for pk in idle:
            order = by_pk[pk]
            yield (
                signature(task, args=(pk,), immutable=True),
                f"order:{order.public_id}",
                f"{order.number}: no {kind.label.lower()} e-mail",
            )
