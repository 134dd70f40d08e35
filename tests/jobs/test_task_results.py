"""Task results are stored only where someone reads them (ignore_result elsewhere).

Storing a result costs a database write per task (no STARTED row: TRACK_STARTED
is off, nothing reads it). The tasks below keep theirs, each for a reader; every
other task must ignore it. The order's pipeline tasks store none: each run is a
jobs.TaskAttempt row, which the order's timeline reads, and the step's own row
(Payment, EmailLog, Invoice) is its outcome.
"""

from django.conf import settings

from project.celery import app as celery_app

RESULTS_READ = {
    # a chord counts its header's stored results
    "reports.compute_sales_report_part": "chord header",
    # periodic jobs: "Run a job now and find its result" (docs/periodic-work.md)
    "inventory.sync_warehouse_stock": "periodic",
    "orders.cancel_abandoned_orders": "periodic",
    "reports.generate_daily_sales_report": "periodic",
    "accounts.clear_expired_sessions": "periodic",
    "jobs.purge_old_records": "periodic",
    "jobs.republish_overdue_steps": "periodic",
    "notifications.send_operator_digest": "periodic",
    "api.purge_idempotency_keys": "periodic",
}
APPS = ("accounts.", "api.", "inventory.", "jobs.", "notifications.", "orders.", "reports.")


def orderly_tasks():
    celery_app.loader.import_default_modules()  # autodiscovery, as a worker does
    return {name: task for name, task in celery_app.tasks.items() if name.startswith(APPS)}


def test_every_task_stores_its_result_only_when_someone_reads_it():
    tasks = orderly_tasks()
    assert set(RESULTS_READ) <= set(tasks)
    stored = sorted(name for name, task in tasks.items() if not task.ignore_result)
    assert stored == sorted(RESULTS_READ)


def test_no_task_writes_a_started_row():
    """A STARTED row would be a second write for every task that stores its result."""
    assert settings.CELERY_TASK_TRACK_STARTED is False
    assert not [name for name, task in orderly_tasks().items() if task.track_started]


def test_the_order_pipeline_is_recorded_by_its_task_attempts_not_by_results():
    """Each step's runs are jobs.TaskAttempt rows (business_object), not stored results."""
    tasks = orderly_tasks()
    for name in PIPELINE:
        assert tasks[name].ignore_result, name
        assert tasks[name].business_object == "orders.Order", name


PIPELINE = (
    "orders.charge_payment",
    "notifications.send_order_confirmation",
    "notifications.send_payment_failed_email",
    "notifications.send_payment_refunded_email",
    "reports.generate_invoice_pdf",
)
