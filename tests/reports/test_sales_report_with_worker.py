"""The sales report chord in a real worker: requested in admin, built, downloaded, e-mailed."""

import csv
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from jobs import locks
from jobs.models import DeadLetter
from notifications.models import EmailLog
from orders.models import Order
from reports.models import SalesReport
from reports.services import sales
from reports.tasks import generate_daily_sales_report, start_sales_report
from tests.factories import ProductFactory, create_order
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


def done(report_id, worker, timeout=90) -> SalesReport:
    return wait_for(
        lambda: SalesReport.objects.filter(
            pk=report_id, status__in=[SalesReport.Status.DONE, SalesReport.Status.FAILED]
        ).first(),
        timeout=timeout,
        what=f"sales report #{report_id} to finish",
        diagnostics=worker.log_tail,
    )


def download(client, report, kind) -> bytes:
    response = client.get(reverse("admin:reports_salesreport_download", args=[report.pk, kind]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_report_for_today_from_admin_has_the_paid_orders_totals_in_its_csv_and_pdf(
    admin_client, admin_user, staff, worker
):
    beans = ProductFactory(category="Coffee", price=Decimal("12.50"))
    mug = ProductFactory(category="Cups", price=Decimal("14.00"))
    for lines in ({beans: 2}, {beans: 1, mug: 1}, {mug: 3}):
        create_order(lines)
    create_order({mug: 5}, status=Order.Status.PENDING_PAYMENT)
    create_order({mug: 5}, status=Order.Status.CANCELLED)
    today = timezone.localdate()

    response = admin_client.post(
        reverse("admin:reports_salesreport_generate"),
        {"date_from": today.isoformat(), "date_to": today.isoformat()},
    )

    report = SalesReport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:reports_salesreport_change", args=[report.pk])
    assert report.requested_by == admin_user
    report = done(report.pk, worker)
    assert report.status == SalesReport.Status.DONE, report.message

    paid = Order.objects.filter(status=Order.Status.PAID, created_at__date=today)
    expected_orders, expected_revenue = paid.count(), paid.aggregate(total=Sum("total"))["total"]
    assert (expected_orders, expected_revenue) == (3, Decimal("93.50"))
    rows = list(csv.reader(StringIO(download(admin_client, report, "csv").decode())))
    totals = rows[rows.index(["Totals"]) + 2]
    assert totals == [str(expected_orders), "7", f"{expected_revenue:.2f}"]
    pdf = download(admin_client, report, "pdf")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert f"{expected_revenue:.2f} EUR" in text
    assert "37.50 EUR" in text and "56.00 EUR" in text  # by category

    page = admin_client.get(reverse("admin:reports_salesreport_change", args=[report.pk]))
    html = page.content.decode()
    assert "24 of 24 hours" in html
    assert 'http-equiv="refresh"' not in html  # done: no more reloading
    listing = admin_client.get(reverse("admin:reports_salesreport_changelist")).content.decode()
    assert reverse("admin:reports_salesreport_download", args=[report.pk, "pdf"]) in listing

    # Staff with an address get it once each, with the CSV attached.
    wait_for(
        lambda: EmailLog.objects.filter(kind=EmailLog.Kind.SALES_REPORT).count() == 2,
        what="the report e-mail to both staff members",
        diagnostics=worker.log_tail,
    )
    recipients = {m["To"] for m in worker.sent_mail() if "sales report" in m["Subject"]}
    assert recipients == {admin_user.email, staff.email}
    [message] = [m for m in worker.sent_mail() if m["To"] == staff.email]
    [attachment] = [p for p in message.walk() if p.get_filename()]
    assert attachment.get_content_type() == "text/csv"
    # (Text parts travel with their line endings normalised.)
    attached = attachment.get_payload(decode=True).splitlines()
    assert attached == download(admin_client, report, "csv").splitlines()


def test_daily_report_run_twice_builds_one_report_and_emails_staff_once(staff, worker):
    yesterday = timezone.localdate() - timezone.timedelta(days=1)
    create_order(
        {ProductFactory(price=Decimal("5.00")): 2},
        created_at=timezone.now() - timezone.timedelta(days=1),
    )

    first = generate_daily_sales_report.delay(yesterday.isoformat())
    second = generate_daily_sales_report.delay(yesterday.isoformat())
    first.get(timeout=30)
    second.get(timeout=30)

    report = SalesReport.objects.get()
    report = done(report.pk, worker)
    assert report.status == SalesReport.Status.DONE
    assert (report.date_from, report.orders_count, report.revenue) == (
        yesterday,
        1,
        Decimal("10.00"),
    )
    wait_for(
        lambda: EmailLog.objects.filter(kind=EmailLog.Kind.SALES_REPORT).exists(),
        what="the report e-mail",
        diagnostics=worker.log_tail,
    )
    assert generate_daily_sales_report.delay(yesterday.isoformat()).get(timeout=30)["status"] == (
        "done"
    )
    assert SalesReport.objects.count() == 1
    assert EmailLog.objects.filter(kind=EmailLog.Kind.SALES_REPORT).count() == 1


def test_report_whose_compile_fails_for_good_is_marked_failed_and_frees_its_dates(worker):
    today = timezone.localdate()
    # One part more than the day has hours: the compile step finds one missing.
    report = SalesReport.objects.create(date_from=today, date_to=today, parts_total=25)

    start_sales_report.delay(report.pk)

    report = done(report.pk, worker)
    assert report.status == SalesReport.Status.FAILED
    assert "Dead letters" in report.message
    letter = DeadLetter.objects.get(task_name="reports.compile_sales_report")
    assert "24 of 25 parts" in letter.exception_message
    assert letter.reference == f"salesreport:{report.pk}"
    assert locks.holder(sales._lock_name(report)) is None
