"""Task results are stored only where someone reads them (ignore_result elsewhere).

Storing a result costs a database write per task, two with TRACK_STARTED. The
tasks below keep theirs, each for a reader; every other task must ignore it.
"""

from project.celery import app as celery_app

RESULTS_READ = {
    # the order's pipeline: the order's timeline and admin's Task results
    "orders.charge_payment": "order timeline",
    "notifications.send_order_confirmation": "order timeline",
    "notifications.send_payment_failed_email": "order timeline",
    "notifications.send_payment_refunded_email": "order timeline",
    "reports.generate_invoice_pdf": "order timeline",
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
