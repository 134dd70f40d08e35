"""Overdue-step finder of the orders app (jobs.services.overdue), registered in apps.py."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.models import OutboxMessage

from . import steps
from .models import Order, Payment


def overdue_charges(stale_before: datetime):
    """Orders awaiting payment whose charge has not been tried since `stale_before`.

    Only those younger than the abandoned-order delay: older ones belong to
    the abandoned-order job, which asks the gateway before anything else.
    An order whose pipeline row is still unsent is the outbox relay's.
    """
    abandoned_before = timezone.now() - timedelta(seconds=settings.ORDERLY_ABANDONED_ORDER_SECONDS)
    orders = Order.objects.filter(
        status=Order.Status.PENDING_PAYMENT,
        payment__status=Payment.Status.PENDING,
        created_at__lt=stale_before,
        created_at__gte=abandoned_before,
    ).filter(
        Q(payment__last_attempt_at__isnull=True) | Q(payment__last_attempt_at__lt=stale_before)
    )
    for order in orders.only("pk", "public_id")[:200]:
        reference = f"order:{order.public_id}"
        if OutboxMessage.objects.filter(reference=reference, sent_at__isnull=True).exists():
            continue
        yield steps.order_pipeline(order.pk), reference, f"{order.number}: no charge attempt"
