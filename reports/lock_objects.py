"""Row locks for the reports app's tables, taken one way everywhere.

Every `select_for_update` of this app goes through here (after Saleor's
`order/lock_objects.py`): one row at a time by key, `of=("self",)` so a
join never locks more. Call these inside `transaction.atomic()`.
"""

from datetime import date

from .models import SalesReport


def lock_sales_report(report_id: int) -> SalesReport:
    return SalesReport.objects.select_for_update(of=("self",)).get(pk=report_id)


def lock_or_create_scheduled_report(*, day: date, defaults: dict) -> tuple[SalesReport, bool]:
    """The scheduled report of `day`, locked, created if missing (unique per day)."""
    return SalesReport.objects.select_for_update(of=("self",)).get_or_create(
        date_from=day, date_to=day, trigger=SalesReport.Trigger.SCHEDULE, defaults=defaults
    )
