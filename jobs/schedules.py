"""Orderly's periodic jobs, installed into django-celery-beat's tables.

`manage.py setup_periodic_tasks` (run by `make dev` and compose's migrate
service) creates each entry once; an existing schedule is left exactly as
an operator may have edited it in admin. Crontab entries run in
settings.TIME_ZONE. Every entry has `expires`: a run that waited in the
queue longer than that (workers down) is dropped instead of piling up, and
the next run does the work. Retries keep the first run's expiry, so an
entry's expires must also leave room for the task's retries.

Queues come from CELERY_TASK_ROUTES, not from here.
"""

from dataclasses import dataclass

MINUTE = 60
HOUR = 60 * MINUTE


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: dict | None = None  # minute, hour, day_of_week, ... ("*" where left out)
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
    Schedule(
        name="Dispatch due webhook deliveries",
        task="notifications.dispatch_due_webhooks",
        every_seconds=5,
        expires_seconds=4,
        description="Sends webhook deliveries whose retry time has come (and any whose "
        "first dispatch was lost).",
    ),
    Schedule(
        name="Republish overdue pipeline steps",
        task="jobs.republish_overdue_steps",
        every_seconds=30,
        expires_seconds=25,
        description="Publishes again any order step (charge, e-mail, invoice) with no attempt "
        "for longer than the visibility timeout plus the hard time limit: its message was "
        "lost by the broker (a failover, a flushed Redis, a deleted queue).",
    ),
    Schedule(
        name="Sync stock from the warehouse",
        task="inventory.sync_warehouse_stock",
        every_seconds=5 * MINUTE,
        expires_seconds=5 * MINUTE - 20,
        description="Sets each product's stock to the warehouse's on-hand quantity less what "
        "unpaid orders hold. Rate-limited; skipped while another sync runs.",
    ),
    Schedule(
        name="Cancel abandoned unpaid orders",
        task="orders.cancel_abandoned_orders",
        every_seconds=5 * MINUTE,
        expires_seconds=5 * MINUTE - 20,
        description="Asks the gateway about orders unpaid for ORDERLY_ABANDONED_ORDER_MINUTES, "
        "and about orders confirming payment: paid if it charged, cancelled (stock released) "
        "only if it confirms nothing was charged. Retries refunds that are due.",
    ),
    Schedule(
        name="Daily sales report",
        task="reports.generate_daily_sales_report",
        crontab={"minute": "0", "hour": "2"},
        expires_seconds=12 * HOUR,
        description="Yesterday's sales as CSV and PDF (Sales reports in admin), e-mailed to "
        'staff. Once per day; kwargs {"day": "YYYY-MM-DD"} picks another day.',
    ),
    Schedule(
        name="Clear expired sessions",
        task="accounts.clear_expired_sessions",
        crontab={"minute": "15", "hour": "3"},
        expires_seconds=6 * HOUR,
        description="Deletes sessions past their expiry date.",
    ),
    Schedule(
        name="Purge old task results and dead letters",
        task="jobs.purge_old_records",
        crontab={"minute": "45", "hour": "3"},
        expires_seconds=6 * HOUR,
        description="Deletes task results and sent outbox rows older than their retention, "
        "and dead letters resolved over ORDERLY_DEAD_LETTER_RETENTION_DAYS ago.",
    ),
    Schedule(
        name="Purge expired API idempotency keys",
        task="api.purge_idempotency_keys",
        crontab={"minute": "20"},
        expires_seconds=HOUR - 5 * MINUTE,
        description="Deletes the JSON API's Idempotency-Keys (and stored responses) older than "
        "ORDERLY_API_IDEMPOTENCY_HOURS.",
    ),
    Schedule(
        name="Operator digest",
        task="notifications.send_operator_digest",
        crontab={"minute": "0", "hour": "8", "day_of_week": "1-5"},
        expires_seconds=4 * HOUR,
        description="E-mails staff yesterday's orders and failed payments (Monday: since "
        "Friday), open dead letters and disabled webhook endpoints.",
    ),
]
