from celery import shared_task

from jobs.requeue import NothingDone

from . import services


@shared_task(
    name="inventory.sync_warehouse_stock",
    soft_time_limit=90,
    time_limit=120,
)
def sync_warehouse_stock() -> dict | NothingDone:
    """Set sellable stock from the warehouse's on-hand list (services.sync_stock_from_warehouse).

    Run by beat every 5 minutes. Rate-limited (ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT,
    applied through CELERY_TASK_ANNOTATIONS) so "run now" clicks and retry
    storms cannot flood the warehouse API. Idempotent; skipped while another
    sync holds the lock. Warehouse outages (timeouts, 5xx) are retried with
    backoff and end as a dead letter when retries run out.
    """
    summary = services.sync_stock_from_warehouse()
    if summary.get("skipped"):
        return NothingDone(f"warehouse sync skipped: {summary['reason']}")
    return summary
