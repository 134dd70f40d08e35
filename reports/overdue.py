"""Overdue-step finder of the reports app (jobs.services.overdue), registered in apps.py."""

from datetime import datetime, timedelta

from celery import signature
from django.utils import timezone

from jobs.selectors import without_recent_work
from orders.models import Order

INVOICE_TASK = "reports.generate_invoice_pdf"
# Orders paid longer ago than this are not looked at (the sweep stays cheap).
LOOKBACK = timedelta(days=1)


def overdue_invoices(stale_before: datetime):
    """Paid orders with no invoice, no recorded failure, and no attempt since `stale_before`."""
    orders = Order.objects.filter(
        status=Order.Status.PAID,
        payment__settled_at__lt=stale_before,
        payment__settled_at__gte=timezone.now() - LOOKBACK,
        invoice__isnull=True,
        invoice_failure__isnull=True,
    ).only("pk", "public_id")[:200]
    by_pk = {order.pk: order for order in orders}
    references = {pk: f"order:{order.public_id}" for pk, order in by_pk.items()}
    for pk in without_recent_work(INVOICE_TASK, "orders.Order", references, since=stale_before):
        yield (
            signature(INVOICE_TASK, args=(pk,), immutable=True),
            references[pk],
            f"{by_pk[pk].number}: no invoice",
        )
