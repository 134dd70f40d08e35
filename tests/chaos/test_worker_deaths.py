"""Every way a task dies ends in one dead letter: a real worker, on the shipped timer defaults.

A task that kills its worker process every time is not delivered forever;
a task killed by its hard time limit is not lost without a trace.
"""

import os
import time
import uuid

import pytest
import redis

from jobs.models import DeadLetter, DeadLetterEvent
from jobs.services.dead_letters import requeue_dead_letter
from project.celery import app as celery_app
from tests import worker_tasks  # noqa: F401 (registers the test tasks, for requeue)
from tests.helpers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.shipped_timers]


@pytest.fixture
def control():
    client = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    yield client
    client.flushdb()


def runs(control, note) -> int:
    return int(control.get(f"{note}:runs") or 0)


def queued_or_unacked(chaos) -> int:
    """Messages still in the private broker: waiting in a queue or held unacknowledged."""
    broker = redis.Redis.from_url(chaos.redis.url)
    return sum(broker.llen(queue) for queue in ("default",)) + broker.hlen("unacked")


def test_a_task_that_kills_its_worker_every_time_is_dead_lettered_after_n_deliveries(
    chaos, control, settings
):
    worker = chaos.worker()
    note = f"killer-{uuid.uuid4().hex[:6]}"
    task_id = celery_app.send_task("tests.kills_its_worker", args=(note,)).id

    dead_letter = wait_for(
        lambda: DeadLetter.objects.filter(task_id=task_id).first(),
        timeout=60,
        what="the worker-killing task to be dead-lettered",
        diagnostics=chaos.logs,
    )

    assert runs(control, note) == settings.ORDERLY_MAX_DELIVERIES == 3
    assert dead_letter.exception_class == "jobs.worker_loss.WorkerKeptDying"
    assert dead_letter.attempts == 3
    assert dead_letter.queue == "default"
    assert dead_letter.worker_hostname == worker.name
    assert dead_letter.args == [note]
    # Acknowledged for good: no further delivery.
    time.sleep(2)
    assert runs(control, note) == 3
    assert queued_or_unacked(chaos) == 0
    assert DeadLetter.objects.count() == 1

    # A requeue from admin is a new message with a new id: its count starts afresh,
    # and when it kills its workers again it reopens the same letter (one piece of work,
    # one dead letter) with the new failure.
    requeue_dead_letter(dead_letter_id=dead_letter.pk)
    reopened = wait_for(
        lambda: (
            DeadLetter.objects.filter(pk=dead_letter.pk, status=DeadLetter.Status.OPEN)
            .exclude(events=None)
            .filter(events__action=DeadLetterEvent.Action.FAILED_AGAIN)
            .first()
        ),
        timeout=60,
        what="the requeued task to fail again and reopen its dead letter",
        diagnostics=chaos.logs,
    )
    assert runs(control, note) == 6
    assert reopened.attempts == 3
    assert DeadLetter.objects.count() == 1


def test_a_hard_time_limit_kill_leaves_one_complete_dead_letter(chaos, control):
    worker = chaos.worker()
    note = f"overrun-{uuid.uuid4().hex[:6]}"
    task_id = celery_app.send_task("tests.ignores_its_soft_limit", args=(note,)).id

    dead_letter = wait_for(
        lambda: DeadLetter.objects.filter(task_id=task_id).first(),
        timeout=60,
        what="the task killed by its hard time limit to be dead-lettered",
        diagnostics=chaos.logs,
    )

    assert dead_letter.exception_class == "billiard.exceptions.TimeLimitExceeded"
    assert dead_letter.queue == "default"
    assert dead_letter.worker_hostname == worker.name
    assert dead_letter.attempts == 1
    assert "Hard time limit (2" in chaos.logs() or "TimeLimitExceeded" in chaos.logs()
    time.sleep(3)  # acknowledged (acks_on_timeout): not delivered again
    assert runs(control, note) == 1
    assert DeadLetter.objects.count() == 1
    assert queued_or_unacked(chaos) == 0
