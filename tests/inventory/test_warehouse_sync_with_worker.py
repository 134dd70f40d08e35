"""The warehouse sync task in a real worker: retries, dead letter, rate limit, lock."""

import pytest
from django.conf import settings
from django_celery_results.models import TaskResult

from inventory import services
from inventory.tasks import sync_warehouse_stock
from jobs import locks
from jobs.models import DeadLetter
from sandbox import warehouse as sandbox_warehouse
from tests.factories import ProductFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


def finished(task_id, worker, timeout=60) -> TaskResult:
    return wait_for(
        lambda: TaskResult.objects.filter(
            task_id=task_id, status__in=["SUCCESS", "FAILURE"]
        ).first(),
        timeout=timeout,
        what=f"sync task {task_id} to finish",
        diagnostics=worker.log_tail,
    )


def test_warehouse_outage_is_retried_and_then_becomes_a_dead_letter(worker):
    beans = ProductFactory(stock=3)
    sandbox_warehouse.ensure_catalog_items()
    sandbox_warehouse.set_on_hand(sku=beans.sku, on_hand=9)
    sandbox_warehouse.start_outage()

    result = sync_warehouse_stock.delay()

    letter = wait_for(
        lambda: DeadLetter.objects.filter(task_id=result.id).first(),
        timeout=90,
        what="the sync to exhaust its retries",
        diagnostics=worker.log_tail,
    )
    assert letter.task_name == "inventory.sync_warehouse_stock"
    assert letter.queue == "default"
    assert letter.exception_class == "jobs.errors.TemporaryError"
    assert "503" in letter.exception_message
    assert letter.attempts == settings.ORDERLY_RETRY_MAX_RETRIES + 1
    beans.refresh_from_db()
    assert beans.stock == 3


def test_short_warehouse_outage_is_retried_until_the_sync_succeeds(worker):
    beans = ProductFactory(stock=3)
    sandbox_warehouse.ensure_catalog_items()
    sandbox_warehouse.set_on_hand(sku=beans.sku, on_hand=9)
    sandbox_warehouse.start_outage(failures=2)

    result = sync_warehouse_stock.delay()

    assert finished(result.id, worker).status == "SUCCESS"
    beans.refresh_from_db()
    assert beans.stock == 9
    assert not DeadLetter.objects.filter(task_id=result.id).exists()


def test_sync_runs_are_spaced_by_the_rate_limit(worker):
    ProductFactory()
    per_minute = int(settings.ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT.removesuffix("/m"))
    spacing = 60 / per_minute

    first, second = sync_warehouse_stock.delay(), sync_warehouse_stock.delay()

    # When each ended (no STARTED state is stored: CELERY_TASK_TRACK_STARTED is
    # off). A sync takes well under a second, so the ends are spaced as the starts.
    ended = sorted(finished(r.id, worker).date_done for r in (first, second))
    assert (ended[1] - ended[0]).total_seconds() >= spacing * 0.8


def test_manual_run_while_a_sync_holds_the_lock_does_no_work(worker):
    beans = ProductFactory(stock=3)
    sandbox_warehouse.ensure_catalog_items()
    sandbox_warehouse.set_on_hand(sku=beans.sku, on_hand=9)

    # Another worker's sync is in progress (it holds the lock).
    with locks.exclusive(services.WAREHOUSE_SYNC_LOCK, timeout=30):
        skipped = finished(sync_warehouse_stock.delay().id, worker)

    assert skipped.status == "SUCCESS"
    assert "warehouse sync skipped: another sync was in progress" in skipped.result
    beans.refresh_from_db()
    assert beans.stock == 3
    done = finished(sync_warehouse_stock.delay().id, worker)
    assert '"skipped": false' in done.result
    beans.refresh_from_db()
    assert beans.stock == 9
