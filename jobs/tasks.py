from celery import shared_task

from . import housekeeping, services


@shared_task(name="jobs.relay_outbox", ignore_result=True, soft_time_limit=50, time_limit=60)
def relay_outbox() -> int:
    """Publish outbox rows the web process could not publish at commit.

    Run by beat every few seconds and at worker start. Safe to run
    concurrently (rows are claimed with SKIP LOCKED).
    """
    return services.relay_outbox()


@shared_task(name="jobs.purge_old_records", soft_time_limit=600, time_limit=660)
def purge_old_records() -> dict:
    """Delete old task results, sent outbox rows and resolved dead letters (beat, daily).

    Idempotent; see housekeeping.purge_old_records for what is kept and for how long.
    """
    return housekeeping.purge_old_records()
