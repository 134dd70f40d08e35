"""Admin's Task results page reads only the page it shows, whatever the table's size."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_celery_results.models import TaskResult

URL = reverse("admin:django_celery_results_taskresult_changelist")


def results(*rows):
    for index, (task_name, status, periodic) in enumerate(rows):
        TaskResult.objects.create(task_id=f"t-{index}", task_name=task_name, status=status,
                                  periodic_task_name=periodic)  # fmt: skip


def test_the_list_runs_no_distinct_or_date_scan_over_the_results_table(admin_client):
    results(
        ("orders.charge_payment", "SUCCESS", None),
        ("reports.generate_invoice_pdf", "FAILURE", None),
    )

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(URL)

    assert page.status_code == 200
    table = TaskResult._meta.db_table
    scans = [
        q["sql"]
        for q in queries
        if table in q["sql"] and ("DISTINCT" in q["sql"] or "MIN(" in q["sql"])
    ]
    assert scans == []
    assert "orders.charge_payment" in page.content.decode()


def test_filters_by_task_name_status_and_periodic_task_name(admin_client):
    results(("orders.charge_payment", "SUCCESS", None),
            ("orders.charge_payment", "FAILURE", None),
            ("accounts.clear_expired_sessions", "SUCCESS", "Clear expired sessions"))  # fmt: skip

    def listed(**params):
        page = admin_client.get(URL, params)
        assert page.status_code == 200
        return sorted(result.task_id for result in page.context["cl"].result_list)

    assert listed(task_name="orders.charge_payment") == ["t-0", "t-1"]
    assert listed(task_name="orders.charge_payment", status="FAILURE") == ["t-1"]
    assert listed(periodic_task_name="Clear expired sessions") == ["t-2"]
