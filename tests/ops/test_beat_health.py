"""Beat health: each schedule's lateness, /readyz's beat check, and admin's "late" flag."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from ops.schedules import beat_staleness, enabled_schedule_statuses

pytestmark = pytest.mark.django_db

RELAY = "Relay stranded outbox messages"  # every 10 s, the shortest schedule


@pytest.fixture
def schedules():
    call_command("setup_periodic_tasks", verbosity=0)


def ran(seconds_ago: float, *, names=None):
    tasks = PeriodicTask.objects.all()
    if names:
        tasks = tasks.filter(name__in=names)
    tasks.update(last_run_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_beat_is_fresh_when_a_periodic_task_was_sent_within_the_shortest_interval(
    schedules, settings
):
    settings.ORDERLY_BEAT_GRACE_SECONDS = 30
    ran(3)
    stale, detail = beat_staleness()
    assert not stale, detail


def test_beat_is_stale_when_nothing_was_sent_for_longer_than_the_shortest_interval_allows(
    schedules, settings
):
    settings.ORDERLY_BEAT_GRACE_SECONDS = 30
    ran(45)  # shortest interval 5 s (webhook dispatch) + 30 s grace = 35 s
    stale, detail = beat_staleness()
    assert stale
    assert "45s ago" in detail


def test_lateness_is_how_far_past_due_a_schedule_is(schedules, settings):
    settings.ORDERLY_BEAT_GRACE_SECONDS = 30
    ran(100, names=[RELAY])
    status = {s.name: s for s in enabled_schedule_statuses()}[RELAY]
    assert status.lateness_seconds == pytest.approx(90, abs=2)
    assert status.late
    assert status.next_run_at < timezone.now()


def test_readyz_reports_beat_stale(client, schedules, settings):
    ran(3600)
    body = client.get("/readyz").json()
    assert "beat" in body["failed"]
    assert body["checks"]["beat"]["ok"] is False
    assert body["checks"]["beat"]["detail"].startswith("stale:")


def test_readyz_beat_check_passes_without_any_schedule(client):
    body = client.get("/readyz").json()
    assert body["checks"]["beat"]["ok"] is True


def test_admin_lists_last_and_next_run_and_flags_a_late_schedule(admin_client, schedules):
    ran(5, names=[RELAY])
    ran(3600, names=["Sync stock from the warehouse"])
    response = admin_client.get("/admin/django_celery_beat/periodictask/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Next run" in page and "Last run" in page
    assert page.count(">late</strong>") >= 1
    assert "on time" in page
