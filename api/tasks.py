from celery import shared_task

from . import idempotency


@shared_task(name="api.purge_idempotency_keys", soft_time_limit=240, time_limit=270)
def purge_idempotency_keys() -> dict:
    """Delete expired idempotency keys (beat, hourly). Idempotent; reports how many went."""
    return {"deleted": idempotency.purge_expired()}
