"""What the operator digest says: a period's orders and failures, and what is open now."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from jobs.models import DeadLetter
from orders.models import Order, Payment

from .models import WebhookEndpoint

LISTED = 20  # rows listed per section; the counts cover everything
CENTS = Decimal("0.01")


def digest_period(today: date) -> tuple[date, date]:
    """The days a digest sent on `today` covers: since the previous weekday, up to yesterday.

    The digest goes out on weekdays, so Tuesday to Friday cover the day
    before and Monday covers Friday, Saturday and Sunday: no day is left out.
    """
    previous_weekday = today - timedelta(days=1)
    while previous_weekday.weekday() >= 5:  # Saturday, Sunday
        previous_weekday -= timedelta(days=1)
    return previous_weekday, today - timedelta(days=1)


def _local_day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def operator_digest(*, date_from: date, date_to: date) -> dict:
    """The digest's content for [date_from, date_to] (local days), as plain values."""
    start, end = _local_day_bounds(date_from, date_to)
    orders = Order.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        placed=Count("pk"),
        paid=Count("pk", filter=Q(status=Order.Status.PAID)),
        cancelled=Count("pk", filter=Q(status=Order.Status.CANCELLED)),
        awaiting_payment=Count("pk", filter=Q(status=Order.Status.PENDING_PAYMENT)),
        revenue=Sum("total", filter=Q(status=Order.Status.PAID)),
    )
    failed_payments = Payment.objects.filter(
        status__in=[Payment.Status.DECLINED, Payment.Status.FAILED],
        settled_at__gte=start,
        settled_at__lt=end,
    ).select_related("order")
    open_dead_letters = DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)
    admin = settings.SITE_URL
    return {
        "date_from": date_from,
        "date_to": date_to,
        "currency": settings.SHOP_CURRENCY,
        # Quantized: SQLite sums decimals as floats (30.00 comes back as 30).
        "orders": {**orders, "revenue": Decimal(orders["revenue"] or 0).quantize(CENTS)},
        "failed_payments_count": failed_payments.count(),
        "failed_payments": list(failed_payments.order_by("settled_at")[:LISTED]),
        "open_dead_letters_count": open_dead_letters.count(),
        "open_dead_letters": list(open_dead_letters.order_by("first_failed_at")[:LISTED]),
        "dead_letters_url": f"{admin}{reverse('admin:jobs_deadletter_changelist')}"
        "?status__exact=open",
        "orders_url": f"{admin}{reverse('admin:orders_order_changelist')}",
        "disabled_webhook_endpoints": disabled_webhook_endpoints(),
    }


def disabled_webhook_endpoints() -> list[WebhookEndpoint]:
    """Webhook endpoints switched off after repeated failures, most recent first."""
    return list(
        WebhookEndpoint.objects.filter(disabled_at__isnull=False).order_by("-disabled_at")[:LISTED]
    )
