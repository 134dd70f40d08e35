"""The periodic schedules: installed once, kept as operators edit them, routed and bounded."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.schedules import SCHEDULES
from project.celery import app
from tests.helpers import documented_defaults

pytestmark = pytest.mark.django_db


def install() -> str:
    out = StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    return out.getvalue()


def snapshot():
    return sorted(
        PeriodicTask.objects.values_list(
            "name", "task", "enabled", "interval_id", "crontab_id", "expire_seconds", "kwargs"
        )
    )


def test_installation_creates_every_schedule_with_expires():
    output = install()

    assert f"{len(SCHEDULES)} installed now" in output
    tasks = {task.name: task for task in PeriodicTask.objects.all()}
    assert set(tasks) == {schedule.name for schedule in SCHEDULES}
    for schedule in SCHEDULES:
        task = tasks[schedule.name]
        assert task.task == schedule.task
        assert task.enabled
        assert task.expire_seconds == schedule.expires_seconds > 0
        assert task.queue in (None, "")  # routed by CELERY_TASK_ROUTES
        assert json.loads(task.kwargs) == {}


def test_installed_timings_are_the_documented_ones_in_the_site_time_zone():
    install()

    def timing(name):
        task = PeriodicTask.objects.select_related("interval", "crontab").get(name=name)
        if task.interval:
            return ("every", task.interval.every, task.interval.period)
        c = task.crontab
        assert str(c.timezone) == settings.TIME_ZONE
        return ("cron", c.minute, c.hour, c.day_of_week, c.day_of_month, c.month_of_year)

    assert timing("Sync stock from the warehouse") == ("every", 300, "seconds")
    assert timing("Cancel abandoned unpaid orders") == ("every", 300, "seconds")
    assert timing("Daily sales report") == ("cron", "0", "2", "*", "*", "*")
    assert timing("Clear expired sessions") == ("cron", "15", "3", "*", "*", "*")
    assert timing("Purge old task results and dead letters") == ("cron", "45", "3", "*", "*", "*")
    assert timing("Operator digest") == ("cron", "0", "8", "1-5", "*", "*")


def test_second_installation_changes_nothing():
    install()
    before = snapshot()
    schedules = (IntervalSchedule.objects.count(), CrontabSchedule.objects.count())

    output = install()

    assert "0 installed now" in output
    assert snapshot() == before
    assert (IntervalSchedule.objects.count(), CrontabSchedule.objects.count()) == schedules


def test_operator_edits_survive_a_second_installation():
    install()
    # An operator, in admin: the sync every 10 minutes, the digest off, a
    # longer expiry and a chosen day for the report.
    ten_minutes, _ = IntervalSchedule.objects.get_or_create(
        every=10, period=IntervalSchedule.MINUTES
    )
    sync = PeriodicTask.objects.get(name="Sync stock from the warehouse")
    sync.interval = ten_minutes
    sync.expire_seconds = 590
    sync.save()
    PeriodicTask.objects.filter(name="Operator digest").update(enabled=False)
    report = PeriodicTask.objects.get(name="Daily sales report")
    report.kwargs = json.dumps({"day": "2025-01-31"})
    report.save()
    edited = snapshot()

    install()

    assert snapshot() == edited
    sync.refresh_from_db()
    assert (sync.interval.every, sync.interval.period, sync.expire_seconds) == (10, "minutes", 590)


def test_a_deleted_schedule_is_installed_again():
    install()
    PeriodicTask.objects.filter(name="Clear expired sessions").delete()

    assert "1 installed now" in install()
    assert PeriodicTask.objects.filter(name="Clear expired sessions").exists()


def test_every_scheduled_task_exists_with_soft_and_hard_time_limits():
    app.loader.import_default_modules()
    for schedule in SCHEDULES:
        task = app.tasks[schedule.task]
        assert task.soft_time_limit and task.time_limit, schedule.task
        assert task.soft_time_limit < task.time_limit < settings.CELERY_VISIBILITY_TIMEOUT


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("inventory.sync_warehouse_stock", "default"),
        ("orders.cancel_abandoned_orders", "default"),
        ("accounts.clear_expired_sessions", "default"),
        ("jobs.purge_old_records", "default"),
        ("reports.generate_daily_sales_report", "reports"),
        ("reports.compute_sales_report_part", "reports"),
        ("reports.compile_sales_report", "reports"),
        ("notifications.send_operator_digest", "emails"),
        ("notifications.send_sales_report_email", "emails"),
    ],
)
def test_periodic_work_is_routed_to_its_queue(task, queue):
    route = app.amqp.router.route({}, task)
    assert route["queue"].name == queue


def test_warehouse_sync_retries_end_before_its_schedule_expires():
    """Retries keep the first message's expiry. Retries that outlast it would be
    dropped as expired, not end as a dead letter an operator sees."""
    from inventory.tasks import sync_warehouse_stock

    env = documented_defaults()
    base = float(env["ORDERLY_RETRY_BACKOFF_SECONDS"])
    cap = float(env["ORDERLY_RETRY_BACKOFF_MAX_SECONDS"])
    retries = int(env["ORDERLY_RETRY_MAX_RETRIES"])
    per_minute = int(env["ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT"].removesuffix("/m"))
    # A failed attempt lasts at most one connect or read timeout (the first page fails).
    attempt = max(float(env["WAREHOUSE_CONNECT_TIMEOUT"]), float(env["WAREHOUSE_READ_TIMEOUT"]))
    worst_case = sum(
        attempt + max(min(cap, base * 2**retry), 60 / per_minute) for retry in range(retries)
    )

    schedule = next(s for s in SCHEDULES if s.task == sync_warehouse_stock.name)
    assert worst_case < schedule.expires_seconds
