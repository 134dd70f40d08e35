"""An operator runs a periodic task now from admin and finds its result there."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from tests.helpers import wait_for

pytestmark = pytest.mark.worker


def test_run_now_in_admin_runs_the_task_and_its_result_is_listed_under_task_results(
    admin_client, worker
):
    call_command("setup_periodic_tasks")
    expired = SessionStore()
    expired.create()
    Session.objects.filter(pk=expired.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    schedule = PeriodicTask.objects.get(name="Clear expired sessions")

    response = admin_client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "run_tasks", "_selected_action": [schedule.pk]},
        follow=True,
    )
    assert "1 task was successfully run" in response.content.decode()

    result = wait_for(
        lambda: TaskResult.objects.filter(
            periodic_task_name="Clear expired sessions", status="SUCCESS"
        ).first(),
        what="the result of the task run from admin",
        diagnostics=worker.log_tail,
    )
    assert result.task_name == "accounts.clear_expired_sessions"
    assert result.result == "1"  # one expired session deleted
    assert not Session.objects.filter(pk=expired.session_key).exists()
    listing = admin_client.get(
        reverse("admin:django_celery_results_taskresult_changelist"),
        {"periodic_task_name": "Clear expired sessions"},
    )
    assert result.task_id in listing.content.decode()
