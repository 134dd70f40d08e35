"""Sales reports in admin: asking for one, watching it, and who may."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from jobs.models import OutboxMessage
from reports.models import SalesReport

pytestmark = pytest.mark.django_db

GENERATE = "admin:reports_salesreport_generate"


def test_form_offers_today_and_a_report_requested_there_is_started_through_the_outbox(
    admin_client,
):
    today = timezone.localdate()
    page = admin_client.get(reverse(GENERATE))
    assert page.status_code == 200
    assert f'value="{today.isoformat()}"' in page.content.decode()

    response = admin_client.post(
        reverse(GENERATE), {"date_from": today.isoformat(), "date_to": today.isoformat()}
    )

    report = SalesReport.objects.get()
    assert response.status_code == 302
    assert OutboxMessage.objects.filter(reference=f"sales_report:{report.pk}").count() == 1


@pytest.mark.parametrize(
    ("days_from", "days_to", "message"),
    [
        (0, -1, "The start date is after the end date."),
        (-40, 0, "A report covers at most 31 days."),
        (1, 1, "The report cannot start in the future."),
    ],
)
def test_a_range_that_makes_no_sense_is_explained_and_nothing_is_made(
    admin_client, days_from, days_to, message
):
    today = timezone.localdate()
    response = admin_client.post(
        reverse(GENERATE),
        {
            "date_from": (today + timedelta(days=days_from)).isoformat(),
            "date_to": (today + timedelta(days=days_to)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SalesReport.objects.exists()


def test_asking_again_while_the_same_dates_run_points_at_the_running_report(admin_client):
    today = timezone.localdate().isoformat()
    admin_client.post(reverse(GENERATE), {"date_from": today, "date_to": today})
    running = SalesReport.objects.get()

    response = admin_client.post(reverse(GENERATE), {"date_from": today, "date_to": today})

    assert f"Report #{running.pk} for {today} is still running" in response.content.decode()
    assert SalesReport.objects.count() == 1


def test_pages_reload_themselves_while_a_report_runs(admin_client):
    today = timezone.localdate()
    report = SalesReport.objects.create(
        date_from=today, date_to=today, parts_total=24, status=SalesReport.Status.RUNNING
    )
    change = reverse("admin:reports_salesreport_change", args=[report.pk])
    changelist = reverse("admin:reports_salesreport_changelist")

    for url in (change, changelist):
        html = admin_client.get(url).content.decode()
        assert 'http-equiv="refresh"' in html
        assert "0 of 24 hours" in html

    SalesReport.objects.filter(pk=report.pk).update(status=SalesReport.Status.DONE)
    for url in (change, changelist):
        assert 'http-equiv="refresh"' not in admin_client.get(url).content.decode()


def test_a_report_without_files_has_nothing_to_download(admin_client):
    today = timezone.localdate()
    report = SalesReport.objects.create(date_from=today, date_to=today, parts_total=24)

    response = admin_client.get(
        reverse("admin:reports_salesreport_download", args=[report.pk, "pdf"])
    )

    assert response.status_code == 404


def test_staff_who_may_only_view_reports_cannot_generate_one(client):
    viewer = get_user_model().objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_salesreport"))
    client.force_login(viewer)

    assert client.get(reverse("admin:reports_salesreport_changelist")).status_code == 200
    assert (
        "Generate a report"
        not in client.get(reverse("admin:reports_salesreport_changelist")).content.decode()
    )
    today = timezone.localdate().isoformat()
    response = client.post(reverse(GENERATE), {"date_from": today, "date_to": today})
    assert response.status_code == 403
    assert not SalesReport.objects.exists()
