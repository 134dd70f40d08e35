"""Is beat keeping time? Each periodic schedule's last run, next run and lateness.

Read from django-celery-beat's rows. Beat writes a schedule's last_run_at
after every send (CELERY_BEAT_SYNC_EVERY = 1), so the rows are fresh. A
schedule that never ran counts from when it was last changed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


@dataclass(frozen=True)
class ScheduleStatus:
    name: str
    last_run_at: datetime | None
    next_run_at: datetime | None
    lateness_seconds: float
    period_seconds: float | None  # interval schedules only

    @property
    def late(self) -> bool:
        return self.lateness_seconds > settings.ORDERLY_BEAT_GRACE_SECONDS


def schedule_status(task: PeriodicTask, *, now: datetime | None = None) -> ScheduleStatus:
    """When `task` last ran, when it is due next, and how far past due it is now."""
    now = now or timezone.now()
    since = task.last_run_at or task.date_changed
    try:
        remaining = task.schedule.remaining_estimate(since)
    except Exception:  # an odd schedule (a clocked one already past) must not break the page
        remaining = None
    if task.last_run_at and remaining is None:
        remaining = timedelta(0)
    next_run_at = now + remaining if remaining is not None else None
    lateness = max(0.0, -remaining.total_seconds()) if remaining is not None else 0.0
    period = task.interval.schedule.run_every.total_seconds() if task.interval_id else None
    return ScheduleStatus(
        name=task.name,
        last_run_at=task.last_run_at,
        next_run_at=next_run_at,
        lateness_seconds=lateness,
        period_seconds=period,
    )


def enabled_schedule_statuses(*, now: datetime | None = None) -> list[ScheduleStatus]:
    """Every enabled, recurring schedule (one-off and clocked entries left out)."""
    tasks = (
        PeriodicTask.objects.filter(enabled=True, one_off=False, clocked__isnull=True)
        .select_related("interval", "crontab", "solar")
        .order_by("name")
    )
    return [schedule_status(task, now=now) for task in tasks]


def beat_staleness(*, now: datetime | None = None) -> tuple[bool, str]:
    """(stale, detail): stale when no schedule was sent for longer than the shortest allows.

    The allowance is the shortest interval plus ORDERLY_BEAT_GRACE_SECONDS;
    with only crontab schedules, beat is stale when any of them is late.
    """
    now = now or timezone.now()
    statuses = enabled_schedule_statuses(now=now)
    if not statuses:
        return False, "no enabled periodic schedules"
    periods = [status.period_seconds for status in statuses if status.period_seconds]
    if not periods:
        late = [status.name for status in statuses if status.late]
        return bool(late), f"late: {', '.join(late)}" if late else "no schedule is late"
    allowed = min(periods) + settings.ORDERLY_BEAT_GRACE_SECONDS
    last_runs = [status.last_run_at for status in statuses if status.last_run_at]
    if not last_runs:
        changed = PeriodicTask.objects.filter(enabled=True).order_by("-date_changed").first()
        silent = (now - changed.date_changed).total_seconds() if changed else 0.0
        detail = f"no periodic task sent yet; schedules installed {silent:.0f}s ago"
    else:
        silent = (now - max(last_runs)).total_seconds()
        detail = f"last periodic task sent {silent:.0f}s ago (allowed {allowed:.0f}s)"
    return silent > allowed, detail
