from celery import shared_task

from .services import bulk_requeue, housekeeping, outbox, overdue


@shared_task(name="jobs.relay_outbox", ignore_result=True, soft_time_limit=50, time_limit=60)
def relay_outbox() -> int:
    """Publish outbox rows the web process could not publish at commit.

    Run by beat every few seconds and at worker start. Safe to run
    concurrently (rows are claimed with SKIP LOCKED).
    """
    return outbox.relay_outbox()


@shared_task(name="jobs.republish_overdue_steps", soft_time_limit=50, time_limit=60)
def republish_overdue_steps() -> dict:
    """Publish again the pipeline steps whose message the broker lost (beat, every 30 s).

    Idempotent: every step's task is. See jobs.services.overdue for what is overdue.
    """
    return overdue.republish_overdue_steps()


@shared_task(name="jobs.purge_old_records", soft_time_limit=240, time_limit=270)
def purge_old_records() -> dict:
    """Delete old task results, sent outbox rows and resolved dead letters (beat, daily).

    Idempotent; see housekeeping.purge_old_records for what is kept and for how long.
    """
    return housekeeping.purge_old_records()


@shared_task(name="jobs.run_bulk_requeue", ignore_result=True, soft_time_limit=60, time_limit=90)
def run_bulk_requeue(bulk_id: int) -> None:
    """Requeue the next dead letters of a bulk requeue at its pace; continues itself.

    Idempotent (see bulk_requeue.run_bulk_requeue); routed to the default queue.
    """
    bulk_requeue.run_bulk_requeue(bulk_id=bulk_id)
