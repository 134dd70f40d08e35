"""The sales report: requested, built by a chord of hourly parts, compiled once.

    request_sales_report / request_daily_sales_report   (admin, beat)
      -> outbox -> start_sales_report                    (takes the range's lock)
      -> outbox -> chord(compute_sales_report_part x hours)(compile_sales_report)
                   compile: CSV + PDF stored, staff e-mailed, lock released
                   on a failure anywhere: fail_sales_report, lock released

Only paid orders count, by the time they were placed (in TIME_ZONE).
"""

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from jobs import locks
from jobs.errors import PermanentError
from jobs.requeue import RequeueRefused
from jobs.services.outbox import publish_on_commit
from orders.models import Order, OrderItem

from .. import steps
from ..errors import InvalidReportRange, ReportAlreadyRunning
from ..lock_objects import lock_or_create_scheduled_report, lock_sales_report
from ..models import SalesReport, SalesReportPart
from ..sales_documents import SalesSummary, render_sales_csv, render_sales_pdf

logger = logging.getLogger(__name__)

MAX_REPORT_DAYS = 31
# Longer than a month-long report takes on one reports worker; if a worker
# dies mid-report, the same dates can be run again after this.
REPORT_LOCK_SECONDS = 30 * 60
ZERO = Decimal("0.00")


def report_hours(date_from: date, date_to: date) -> list[datetime]:
    """The start (UTC) of every hour from local midnight of date_from to the end of date_to.

    Stepping in UTC keeps daylight-saving days right: 23 or 25 parts.
    """
    zone = timezone.get_default_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    hours = []
    while start < end:
        hours.append(start)
        start += timedelta(hours=1)
    return hours


def _lock_name(report: SalesReport) -> str:
    return f"reports:sales:{report.date_from:%Y-%m-%d}:{report.date_to:%Y-%m-%d}"


def _lock_owner(report: SalesReport) -> str:
    return f"sales-report:{report.pk}"


def request_sales_report(*, date_from: date, date_to: date, requested_by=None) -> SalesReport:
    """Create a report for [date_from, date_to] and start it once the transaction commits.

    Raises InvalidReportRange (reversed, longer than MAX_REPORT_DAYS, or in
    the future) or ReportAlreadyRunning (the same dates are being built).
    The second check is for the person asking; the lock taken by
    start_sales_report is what guarantees the dates never run twice at once.
    """
    if date_from > date_to:
        raise InvalidReportRange("The start date is after the end date.")
    if (date_to - date_from).days + 1 > MAX_REPORT_DAYS:
        raise InvalidReportRange(f"A report covers at most {MAX_REPORT_DAYS} days.")
    if date_from > timezone.localdate():
        raise InvalidReportRange("The report cannot start in the future.")
    running = (
        SalesReport.objects.filter(date_from=date_from, date_to=date_to)
        .filter(status__in=[SalesReport.Status.PENDING, SalesReport.Status.RUNNING])
        .first()
    )
    if running:
        raise ReportAlreadyRunning(running)
    with transaction.atomic():
        report = SalesReport.objects.create(
            date_from=date_from,
            date_to=date_to,
            trigger=SalesReport.Trigger.STAFF,
            parts_total=len(report_hours(date_from, date_to)),
            requested_by=requested_by,
            currency=settings.SHOP_CURRENCY,
        )
        _publish_start(report)
    return report


def request_daily_sales_report(*, day: date | None = None) -> SalesReport:
    """The scheduled report of one day (yesterday by default), made once.

    Idempotent: the day's scheduled report is one row (a unique constraint);
    a second call finds it and starts nothing, unless it failed or was
    skipped, in which case it is started again.
    """
    day = day or timezone.localdate() - timedelta(days=1)
    with transaction.atomic():
        report, created = lock_or_create_scheduled_report(
            day=day,
            defaults={
                "parts_total": len(report_hours(day, day)),
                "currency": settings.SHOP_CURRENCY,
            },
        )
        if created:
            _publish_start(report)
        elif report.status in (SalesReport.Status.FAILED, SalesReport.Status.SKIPPED):
            report.status = SalesReport.Status.PENDING
            report.message = ""
            report.save(update_fields=["status", "message"])
            _publish_start(report)
    return report


def _publish_start(report: SalesReport) -> None:
    publish_on_commit(steps.start_sales_report(report.pk), reference=f"sales_report:{report.pk}")


def start_sales_report(*, report_id: int) -> bool:
    """Take the report's date-range lock and publish its chord; False if it did not start.

    The lock (owner "sales-report:<id>") is held until the compile task or
    the failure callback releases it, or REPORT_LOCK_SECONDS pass. If
    another report of the same dates holds it, this one is marked SKIPPED
    and does no work. Idempotent: only a PENDING report starts, and a
    redelivery that finds its own lock goes on where it stopped.
    """
    report = SalesReport.objects.get(pk=report_id)
    if report.status != SalesReport.Status.PENDING:
        return False
    name, owner = _lock_name(report), _lock_owner(report)
    if not locks.acquire(name, owner=owner, timeout=REPORT_LOCK_SECONDS):
        holder = locks.holder(name) or "another run"
        logger.info("%s skipped: %s holds %s", report, holder, name)
        SalesReport.objects.filter(pk=report_id, status=SalesReport.Status.PENDING).update(
            status=SalesReport.Status.SKIPPED,
            message=f"{holder.replace('sales-report:', 'Report #')} was building the same dates.",
            finished_at=timezone.now(),
        )
        return False
    with transaction.atomic():
        report = lock_sales_report(report_id)
        if report.status != SalesReport.Status.PENDING:
            return False
        report.status = SalesReport.Status.RUNNING
        report.started_at = timezone.now()
        report.save(update_fields=["status", "started_at"])
        publish_on_commit(_report_chord(report), reference=f"sales_report:{report.pk}")
    logger.info("%s started: %d parts", report, report.parts_total)
    return True


def _report_chord(report: SalesReport):
    hours = report_hours(report.date_from, report.date_to)
    return steps.sales_report_chord(report.pk, [hour.isoformat() for hour in hours])


def compute_sales_report_part(*, report_id: int, hour_start: datetime) -> SalesReportPart:
    """Aggregate the paid orders placed in one hour and store them as a part.

    Idempotent: a part is one row per (report, hour), written with
    update_or_create, so a redelivery rewrites the same numbers.
    """
    hour_end = hour_start + timedelta(hours=1)
    orders = Order.objects.filter(
        status=Order.Status.PAID, created_at__gte=hour_start, created_at__lt=hour_end
    )
    # Summed in Python: exact decimals on every database (SQLite sums in floats).
    order_totals = list(orders.values_list("total", flat=True))
    by_category: dict[str, dict] = defaultdict(lambda: {"units": 0, "revenue": ZERO})
    for category, unit_price, quantity in OrderItem.objects.filter(order__in=orders).values_list(
        "product__category", "unit_price", "quantity"
    ):
        by_category[category]["units"] += quantity
        by_category[category]["revenue"] += unit_price * quantity
    part, _ = SalesReportPart.objects.update_or_create(
        report_id=report_id,
        hour_start=hour_start,
        defaults={
            "orders_count": len(order_totals),
            "units": sum(row["units"] for row in by_category.values()),
            "revenue": sum(order_totals, ZERO),
            "by_category": {
                name: {"units": row["units"], "revenue": str(row["revenue"])}
                for name, row in sorted(by_category.items())
            },
        },
    )
    return part


def compile_sales_report(*, report_id: int) -> SalesReport:
    """Sum the parts, store the CSV and PDF, e-mail staff, release the lock.

    Files go under deterministic keys (reports/sales/<id>/...), so a
    redelivery overwrites them with the same bytes. Idempotent: a report
    that is no longer RUNNING is returned untouched. Raises PermanentError
    if parts are missing (the chord should make that impossible).
    """
    report = SalesReport.objects.get(pk=report_id)
    if report.status != SalesReport.Status.RUNNING:
        return report
    parts = list(report.parts.order_by("hour_start"))
    if len(parts) != report.parts_total:
        raise PermanentError(f"{report}: {len(parts)} of {report.parts_total} parts are stored")
    summary = SalesSummary.from_parts(report, parts)
    base = f"reports/sales/{report.pk}/sales-{report.date_from:%Y%m%d}-{report.date_to:%Y%m%d}"
    csv_key = default_storage.save(f"{base}.csv", ContentFile(render_sales_csv(summary)))
    pdf_key = default_storage.save(f"{base}.pdf", ContentFile(render_sales_pdf(summary)))
    with transaction.atomic():
        report = lock_sales_report(report_id)
        if report.status != SalesReport.Status.RUNNING:
            return report
        report.status = SalesReport.Status.DONE
        report.orders_count = summary.orders_count
        report.units = summary.units
        report.revenue = summary.revenue
        report.csv_file = csv_key
        report.pdf_file = pdf_key
        report.finished_at = timezone.now()
        report.save()
        _publish_staff_email(report)
        # Released before the status commits, so a finished report's dates are
        # always free (the reverse order left a window where they were not).
        locks.release(_lock_name(report), owner=_lock_owner(report))
    logger.info("%s done: %d orders, %s %s", report, report.orders_count, report.revenue,
                report.currency)  # fmt: skip
    return report


def _publish_staff_email(report: SalesReport) -> None:
    publish_on_commit(steps.sales_report_email(report.pk), reference=f"sales_report:{report.pk}")


def fail_sales_report(*, report_id: int, reason: str) -> SalesReport:
    """Mark a running report failed and free its dates for another run. Idempotent."""
    with transaction.atomic():
        report = lock_sales_report(report_id)
        if report.status not in (SalesReport.Status.PENDING, SalesReport.Status.RUNNING):
            return report
        report.status = SalesReport.Status.FAILED
        report.message = reason[:2000]
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "message", "finished_at"])
        locks.release(_lock_name(report), owner=_lock_owner(report))  # see compile_sales_report
    logger.warning("%s failed: %s", report, reason)
    return report


def refuse_requeue_of_part(args: list, kwargs: dict) -> tuple[list, dict]:
    """Requeue preparer of the report chord's tasks: a part alone cannot finish a report.

    The chord's body runs only when every header part of the same chord has
    stored its result, so one part (or the body) replayed on its own would
    never complete the report. The day's report is built anew instead.
    """
    report = SalesReport.objects.get(pk=args[0])
    if report.status == SalesReport.Status.DONE:
        raise RequeueRefused(f"Sales report #{report.pk} ({report.period_label}) is done.")
    raise RequeueRefused(
        f"Sales report #{report.pk} ({report.period_label}) is "
        f"{report.get_status_display().lower()}: one of its steps cannot finish it alone. "
        "Build the report again: Periodic tasks, 'Daily sales report', Run now (or a new "
        "report for those dates in Sales reports)."
    )
