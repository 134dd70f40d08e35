from celery import shared_task

from . import services


@shared_task(name="accounts.clear_expired_sessions", soft_time_limit=240, time_limit=270)
def clear_expired_sessions() -> int:
    """Delete expired sessions (beat, daily). Idempotent; returns how many went."""
    return services.clear_expired_sessions()
