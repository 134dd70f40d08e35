"""Orderly's periodic jobs, installed into django-celery-beat's tables.

Each entry is created once; an existing schedule is left exactly as an
operator may have edited it in admin.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: dict | None = None  # minute, hour, day_of_week, ...
    expires_seconds: int = 60
    description: str = ""


SCHEDULES = [
    Schedule(
        name="Relay stranded outbox messages",
        task="jobs.relay_outbox",
        every_seconds=10,
        expires_seconds=9,
        description="Publishes pipeline starts that could not be published at commit.",
    ),
]
