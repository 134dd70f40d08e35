"""The sales report's services: ranges, once-per-day scheduling, locking, and the files."""

import csv
import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from jobs import locks
from jobs.models import OutboxMessage
from orders.models import Order
from reports.errors import InvalidReportRange, ReportAlreadyRunning
from reports.models import SalesReport
from reports.services import sales
from tests.factories import ProductFactory, create_order

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 14)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_default_timezone()
    )


def outbox_tasks(reference: str) -> list[str]:
    return [
        message.signature["task"]
        for message in OutboxMessage.objects.filter(reference=reference).order_by("pk")
    ]


@pytest.fixture
def release_locks():
    names = []
    yield names
    for name in names:
        locks._lock(name).redis.delete(locks.KEY_PREFIX + name)


def build(report: SalesReport) -> SalesReport:
    """What the chord does, in this process: start, every part, compile."""
    assert sales.start_sales_report(report_id=report.pk)
    for hour in sales.report_hours(report.date_from, report.date_to):
        sales.compute_sales_report_part(report_id=report.pk, hour_start=hour)
    return sales.compile_sales_report(report_id=report.pk)


def read_csv(report) -> list[list[str]]:
    with default_storage.open(report.csv_file.name, "rb") as stored:
        return list(csv.reader(StringIO(stored.read().decode())))


def csv_section(rows, title) -> list[list[str]]:
    start = rows.index([title]) + 2  # the title, then the header
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


def pdf_text(report) -> str:
    with default_storage.open(report.pdf_file.name, "rb") as stored:
        return "".join(page.extract_text() for page in PdfReader(BytesIO(stored.read())).pages)


# --- the range --------------------------------------------------------------------


def test_a_day_has_one_part_per_hour_and_daylight_saving_days_have_23_or_25(settings):
    assert len(sales.report_hours(DAY, DAY)) == 24
    assert len(sales.report_hours(DAY, DAY + timedelta(days=6))) == 7 * 24
    settings.TIME_ZONE = "Europe/Berlin"
    assert len(sales.report_hours(date(2025, 3, 30), date(2025, 3, 30))) == 23
    assert len(sales.report_hours(date(2025, 10, 26), date(2025, 10, 26))) == 25
    first = sales.report_hours(DAY, DAY)[0]
    assert first == datetime(2025, 3, 13, 23, tzinfo=zoneinfo.ZoneInfo("UTC"))  # local midnight


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        (DAY, DAY - timedelta(days=1), "after the end date"),
        (DAY, DAY + timedelta(days=31), "at most 31 days"),
        (timezone.localdate() + timedelta(days=1), timezone.localdate() + timedelta(days=1),
         "future"),
    ],
)  # fmt: skip
def test_report_ranges_that_make_no_sense_are_refused(date_from, date_to, message):
    with pytest.raises(InvalidReportRange, match=message):
        sales.request_sales_report(date_from=date_from, date_to=date_to)
    assert not SalesReport.objects.exists()


def test_dates_already_being_built_are_refused_to_the_person_asking():
    running = sales.request_sales_report(date_from=DAY, date_to=DAY)
    with pytest.raises(ReportAlreadyRunning, match=f"#{running.pk}"):
        sales.request_sales_report(date_from=DAY, date_to=DAY)


def test_request_publishes_the_start_through_the_outbox():
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)

    assert report.status == SalesReport.Status.PENDING
    assert report.parts_total == 24
    assert outbox_tasks(f"sales_report:{report.pk}") == ["reports.start_sales_report"]


# --- once, and never twice at the same time -------------------------------------------


def test_daily_report_is_made_once_per_day_however_often_the_schedule_fires():
    first = sales.request_daily_sales_report(day=DAY)
    second = sales.request_daily_sales_report(day=DAY)

    assert first.pk == second.pk
    assert SalesReport.objects.count() == 1
    assert first.trigger == SalesReport.Trigger.SCHEDULE
    assert outbox_tasks(f"sales_report:{first.pk}") == ["reports.start_sales_report"]


def test_daily_report_defaults_to_yesterday_and_a_failed_one_runs_again(release_locks):
    report = sales.request_daily_sales_report()
    assert report.date_from == report.date_to == timezone.localdate() - timedelta(days=1)
    sales.fail_sales_report(report_id=report.pk, reason="a part failed")

    again = sales.request_daily_sales_report()

    assert again.pk == report.pk and again.status == SalesReport.Status.PENDING
    assert len(outbox_tasks(f"sales_report:{report.pk}")) == 2


def test_report_of_dates_another_run_holds_is_skipped_and_does_no_work(release_locks):
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)
    name = sales._lock_name(report)
    release_locks.append(name)
    assert locks.acquire(name, owner="sales-report:999", timeout=60)

    assert sales.start_sales_report(report_id=report.pk) is False

    report.refresh_from_db()
    assert report.status == SalesReport.Status.SKIPPED
    assert report.message == "Report #999 was building the same dates."
    assert outbox_tasks(f"sales_report:{report.pk}") == ["reports.start_sales_report"]  # no chord


def test_started_report_holds_its_dates_until_it_is_done(release_locks):
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)
    name = sales._lock_name(report)
    release_locks.append(name)

    assert sales.start_sales_report(report_id=report.pk)
    assert sales.start_sales_report(report_id=report.pk) is False  # a redelivery: nothing new
    assert locks.holder(name) == f"sales-report:{report.pk}"
    assert outbox_tasks(f"sales_report:{report.pk}") == [
        "reports.start_sales_report",
        "celery.chord",
    ]
    for hour in sales.report_hours(DAY, DAY):
        sales.compute_sales_report_part(report_id=report.pk, hour_start=hour)
    sales.compile_sales_report(report_id=report.pk)

    assert locks.holder(name) is None


def test_failed_report_frees_its_dates(release_locks):
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)
    release_locks.append(sales._lock_name(report))
    sales.start_sales_report(report_id=report.pk)

    sales.fail_sales_report(report_id=report.pk, reason="a part failed for good")

    report.refresh_from_db()
    assert report.status == SalesReport.Status.FAILED
    assert locks.holder(sales._lock_name(report)) is None
    assert sales.request_sales_report(date_from=DAY, date_to=DAY).pk != report.pk


# --- the numbers and the files --------------------------------------------------------


@pytest.fixture
def day_of_orders():
    beans = ProductFactory(category="Coffee", price=Decimal("12.50"))
    mug = ProductFactory(category="Cups", price=Decimal("14.00"))
    create_order({beans: 2}, created_at=at(0, 5))  # 25.00
    create_order({beans: 1, mug: 1}, created_at=at(9, 30))  # 26.50
    create_order({mug: 3}, created_at=at(23, 59))  # 42.00
    # Not counted: unpaid, cancelled, and the days either side.
    create_order({mug: 7}, status=Order.Status.PENDING_PAYMENT, created_at=at(10))
    create_order({mug: 7}, status=Order.Status.CANCELLED, created_at=at(11))
    create_order({beans: 9}, created_at=at(23, 59, DAY - timedelta(days=1)))
    create_order({beans: 9}, created_at=at(0, 0, DAY + timedelta(days=1)))


def test_report_totals_are_the_paid_orders_of_the_day(day_of_orders, release_locks):
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)
    release_locks.append(sales._lock_name(report))

    report = build(report)

    assert report.status == SalesReport.Status.DONE
    assert (report.orders_count, report.units, report.revenue) == (3, 7, Decimal("93.50"))
    rows = read_csv(report)
    assert csv_section(rows, "Totals") == [["3", "7", "93.50"]]
    assert csv_section(rows, "By category") == [["Coffee", "3", "37.50"], ["Cups", "4", "56.00"]]
    by_hour = csv_section(rows, "By hour")
    assert len(by_hour) == 24
    assert by_hour[0] == ["2025-03-14 00:00", "1", "2", "25.00"]
    assert by_hour[9] == ["2025-03-14 09:00", "1", "2", "26.50"]
    assert by_hour[23] == ["2025-03-14 23:00", "1", "3", "42.00"]
    text = pdf_text(report)
    assert "Sales report 2025-03-14" in text
    assert "93.50 EUR" in text and "37.50 EUR" in text and "56.00 EUR" in text
    assert report.csv_file.name == f"reports/sales/{report.pk}/sales-20250314-20250314.csv"
    assert report.pdf_file.name == f"reports/sales/{report.pk}/sales-20250314-20250314.pdf"
    assert outbox_tasks(f"sales_report:{report.pk}")[-1] == "notifications.send_sales_report_email"


def test_compiling_twice_changes_nothing(day_of_orders, release_locks):
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)
    release_locks.append(sales._lock_name(report))
    report = build(report)
    first_csv = read_csv(report)

    again = sales.compile_sales_report(report_id=report.pk)

    assert (again.finished_at, read_csv(again)) == (report.finished_at, first_csv)
    assert (
        outbox_tasks(f"sales_report:{report.pk}").count("notifications.send_sales_report_email")
        == 1
    )


def test_computing_a_part_twice_stores_it_once(day_of_orders):
    report = sales.request_sales_report(date_from=DAY, date_to=DAY)
    hour = sales.report_hours(DAY, DAY)[9]

    sales.compute_sales_report_part(report_id=report.pk, hour_start=hour)
    part = sales.compute_sales_report_part(report_id=report.pk, hour_start=hour)

    assert report.parts.count() == 1
    assert (part.orders_count, part.units, part.revenue) == (1, 2, Decimal("26.50"))
    assert part.by_category == {
        "Coffee": {"units": 1, "revenue": "12.50"},
        "Cups": {"units": 1, "revenue": "14.00"},
    }


def test_multi_day_report_adds_up_every_day(day_of_orders, release_locks):
    report = sales.request_sales_report(date_from=DAY - timedelta(days=1), date_to=DAY)
    release_locks.append(sales._lock_name(report))

    report = build(report)

    rows = read_csv(report)
    assert csv_section(rows, "By day") == [
        ["2025-03-13", "1", "9", "112.50"],
        ["2025-03-14", "3", "7", "93.50"],
    ]
    assert csv_section(rows, "Totals") == [["4", "16", "206.00"]]
