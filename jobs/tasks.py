from celery import shared_task

from . import services


@shared_task(name="jobs.relay_outbox", ignore_result=True, soft_time_limit=50, time_limit=60)
def relay_outbox() -> int:
    """Publish outbox rows the web process could not publish at commit.

    Run by beat every few seconds and at worker start. Safe to run
    concurrently (rows are claimed with SKIP LOCKED).
    """
    return services.relay_outbox()
