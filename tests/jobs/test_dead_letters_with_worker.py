"""Dead letters written by the shared base task in a real worker, and requeued from admin."""

import os
import uuid

import celery.exceptions
import pytest
import redis
from django.db import connection
from django.urls import reverse

from jobs.models import DeadLetter, DeadLetterEvent
from tests.helpers import wait_for
from tests.processes import WorkerProcess
from tests.worker_tasks import (
    always_fails,
    fails_until_fixed,
    ignores_its_soft_limit,
    loses_its_database_once,
    overruns,
)

pytestmark = pytest.mark.worker


@pytest.fixture(params=["prefork", "gevent"])
def pool_worker(request, worker_env, transactional_db, live_server, tmp_path):
    """A worker on each pool the Procfile uses, consuming a queue of its own."""
    worker = WorkerProcess(
        env=worker_env,
        log_path=tmp_path / "worker.log",
        mail_dir=tmp_path,
        queues=[f"dead-letters-{request.param}"],
        pool=request.param,
    ).start()
    yield worker
    worker.stop()


@pytest.fixture
def control():
    client = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    yield client
    client.flushdb()


def dead_letter_for(task_id, worker):
    return wait_for(
        lambda: DeadLetter.objects.filter(task_id=task_id).first(),
        what=f"a dead letter for {task_id}",
        diagnostics=worker.log_tail,
    )


def test_permanent_failure_leaves_one_dead_letter_with_secrets_redacted(pool_worker):
    worker = pool_worker
    result = always_fails.apply_async(
        args=["hello"],
        kwargs={"card_number": "4242424242424242", "api_token": "tok_live_123"},
        queue=worker.queues[0],
    )

    letter = dead_letter_for(result.id, worker)

    # One letter for one failure (the queue is this test's own).
    assert DeadLetter.objects.filter(queue=worker.queues[0]).count() == 1
    assert letter.task_name == "tests.always_fails"
    assert letter.queue == worker.queues[0]
    assert letter.status == DeadLetter.Status.OPEN
    assert letter.args == ["hello"]
    assert letter.kwargs == {"card_number": "[redacted]", "api_token": "[redacted]"}
    assert "4242424242424242" not in letter.sealed_arguments
    assert "tok_live_123" not in letter.sealed_arguments
    assert letter.exception_class == "jobs.errors.PermanentError"
    assert letter.exception_message == "this task always fails (hello)"
    assert "raise PermanentError" in letter.traceback
    assert letter.attempts == 1  # permanent: not retried
    assert letter.worker_hostname == worker.name


def test_exhausted_retries_dead_letter_then_requeue_from_admin_runs_it_once_and_resolves(
    pool_worker, control, admin_client
):
    worker = pool_worker
    switch = f"switch-{uuid.uuid4().hex}"
    result = fails_until_fixed.apply_async(args=[switch], queue=worker.queues[0])

    letter = dead_letter_for(result.id, worker)
    assert letter.attempts == 2  # the first run and its one retry
    assert letter.first_failed_at < letter.last_failed_at
    assert letter.exception_class == "jobs.errors.TemporaryError"

    control.set(switch, "fixed")  # the operator fixes the cause...
    changelist = reverse("admin:jobs_deadletter_changelist")
    response = admin_client.post(
        changelist,
        {"action": "requeue", "_selected_action": [letter.pk], "note": ""},
        follow=True,
    )
    assert "1 dead letter(s) requeued." in response.content.decode()

    wait_for(
        lambda: DeadLetter.objects.get(pk=letter.pk).status == DeadLetter.Status.RESOLVED,
        what="the requeued task to succeed and resolve the dead letter",
        diagnostics=worker.log_tail,
    )
    assert control.get(f"{switch}:ran") == b"1"
    letter.refresh_from_db()
    assert letter.requeued_task_id and letter.requeued_task_id != letter.task_id
    assert letter.acted_by.username == "admin"
    assert list(letter.events.values_list("action", flat=True)) == [
        DeadLetterEvent.Action.REQUEUED,
        DeadLetterEvent.Action.SUCCEEDED,
    ]

    again = admin_client.post(
        changelist, {"action": "requeue", "_selected_action": [letter.pk]}, follow=True
    )
    assert "only open dead letters can be requeued" in again.content.decode()
    assert control.get(f"{switch}:ran") == b"1"


def test_task_past_its_soft_time_limit_is_stopped_and_dead_lettered(pool_worker, control):
    """Prefork raises the soft limit itself; on gevent, jobs.time_limits does."""
    result = overruns.apply_async(args=[f"never-{uuid.uuid4().hex}"], queue=pool_worker.queues[0])

    letter = dead_letter_for(result.id, pool_worker)

    # celery.exceptions.SoftTimeLimitExceeded is billiard's class, on both pools.
    assert letter.exception_class == "billiard.exceptions.SoftTimeLimitExceeded"
    assert letter.attempts == 1
    # Had nothing stopped it, its wait would have ended after 30 s and it would
    # have succeeded; the hard limit (10 s) leaves no dead letter on either pool.


def test_task_that_swallows_its_soft_limit_is_dead_lettered_at_the_hard_limit(pool_worker, control):
    """Prefork kills the pool child; gevent raises gevent.Timeout in the greenlet.

    Either way Celery (5.7) calls the task's on_failure from the worker's
    timeout handler, which the base task turns into a dead letter.
    """
    note = f"swallows-{uuid.uuid4().hex}"
    result = ignores_its_soft_limit.apply_async(args=[note], queue=pool_worker.queues[0])

    letter = dead_letter_for(result.id, pool_worker)

    assert letter.exception_class == "billiard.exceptions.TimeLimitExceeded"
    assert letter.attempts == 1
    assert letter.queue == pool_worker.queues[0]
    assert letter.worker_hostname == pool_worker.name
    assert control.get(f"{note}:runs") == b"1"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL to end the task's own connection"
)
def test_lost_database_connection_is_retried_not_dead_lettered(pool_worker, control):
    """A connection the server ends (a restart, a failover) is a temporary failure."""
    note = f"db-{uuid.uuid4().hex}"
    result = loses_its_database_once.apply_async(args=[note], queue=pool_worker.queues[0])

    try:
        outcome = result.get(timeout=30)  # one retry, its countdown at most 2 s
    except celery.exceptions.TimeoutError:
        runs = control.get(f"{note}:runs")
        pytest.fail(f"no result in 30 s after {runs} runs\n{pool_worker.log_tail(200)}")
    assert outcome == "reached the database"
    assert control.get(f"{note}:runs") == b"2"
    assert not DeadLetter.objects.filter(task_id=result.id).exists()
    assert "temporary failure (attempt 1 of" in pool_worker.log_tail(200)
