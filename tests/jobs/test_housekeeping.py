"""Purging old task results, sent outbox rows and resolved dead letters, and nothing else."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_results.models import GroupResult, TaskResult

from jobs.models import DeadLetter, OutboxMessage, TaskAttempt
from jobs.services.housekeeping import purge_old_records
from jobs.tasks import purge_old_records as purge_task

pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def task_result(task_id: str, *, days: float) -> TaskResult:
    result = TaskResult.objects.create(task_id=task_id, status="SUCCESS")
    TaskResult.objects.filter(pk=result.pk).update(date_done=days_ago(days))  # auto_now
    return result


def dead_letter(task_id: str, status: str, *, acted_days_ago: float | None) -> DeadLetter:
    return DeadLetter.objects.create(
        task_name="orders.charge_payment",
        task_id=task_id,
        sealed_arguments="",
        exception_class="jobs.errors.TemporaryError",
        first_failed_at=days_ago(90),
        last_failed_at=days_ago(90),
        status=status,
        acted_at=days_ago(acted_days_ago) if acted_days_ago is not None else None,
    )


def outbox(reference: str, *, sent_days_ago: float | None) -> OutboxMessage:
    sent_at = days_ago(sent_days_ago) if sent_days_ago is not None else None
    return OutboxMessage.objects.create(signature={}, reference=reference, sent_at=sent_at)


@pytest.fixture
def records():
    results_days = settings.ORDERLY_TASK_RESULT_RETENTION_DAYS
    outbox_days = settings.ORDERLY_OUTBOX_RETENTION_DAYS
    letters_days = settings.ORDERLY_DEAD_LETTER_RETENTION_DAYS
    task_result("old-result", days=results_days + 1)
    task_result("recent-result", days=results_days - 1)
    group = GroupResult.objects.create(group_id="old-group")
    GroupResult.objects.filter(pk=group.pk).update(date_done=days_ago(results_days + 1))
    for task_id, days in (("old-run", results_days + 1), ("recent-run", results_days - 1)):
        TaskAttempt.objects.create(task_id=task_id, task_name="orders.charge_payment",
                                   business_key="orders.order:1", started_at=days_ago(days),
                                   duration_ms=5, outcome="succeeded")  # fmt: skip
    outbox("old-sent", sent_days_ago=outbox_days + 1)
    outbox("recent-sent", sent_days_ago=outbox_days - 1)
    stranded = outbox("never-sent", sent_days_ago=None)
    OutboxMessage.objects.filter(pk=stranded.pk).update(created_at=days_ago(365))
    dead_letter("resolved-long-ago", DeadLetter.Status.RESOLVED, acted_days_ago=letters_days + 1)
    dead_letter("resolved-lately", DeadLetter.Status.RESOLVED, acted_days_ago=letters_days - 1)
    dead_letter("open-and-old", DeadLetter.Status.OPEN, acted_days_ago=None)
    dead_letter("requeued-long-ago", DeadLetter.Status.REQUEUED, acted_days_ago=letters_days + 9)


def test_purge_deletes_what_is_past_its_retention_and_keeps_the_rest(records):
    purged = purge_task()

    assert purged == {
        "task_results": 1,
        "group_results": 1,
        "task_attempts": 1,
        "outbox_messages": 1,
        "dead_letters": 1,
    }
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["recent-result"]
    assert not GroupResult.objects.exists()
    assert list(TaskAttempt.objects.values_list("task_id", flat=True)) == ["recent-run"]
    assert set(OutboxMessage.objects.values_list("reference", flat=True)) == {
        "recent-sent",
        "never-sent",  # the relay still owes it a publish
    }
    assert set(DeadLetter.objects.values_list("task_id", flat=True)) == {
        "resolved-lately",
        "open-and-old",  # an operator has not handled it yet
        "requeued-long-ago",
    }


def test_second_purge_deletes_nothing_more(records):
    purge_old_records()
    remaining = (
        TaskResult.objects.count(),
        OutboxMessage.objects.count(),
        DeadLetter.objects.count(),
    )

    assert set(purge_old_records().values()) == {0}
    assert (
        TaskResult.objects.count(),
        OutboxMessage.objects.count(),
        DeadLetter.objects.count(),
    ) == remaining


def test_large_purges_go_in_batches(monkeypatch):
    monkeypatch.setattr("jobs.services.housekeeping.BATCH_SIZE", 3)
    for number in range(8):
        task_result(f"old-{number}", days=settings.ORDERLY_TASK_RESULT_RETENTION_DAYS + 1)

    assert purge_old_records()["task_results"] == 8
    assert not TaskResult.objects.exists()
