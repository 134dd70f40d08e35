"""A bulk requeue of 1,000 dead letters through a real worker: paced, each run and resolved once."""

import os
import uuid

import pytest
import redis
from django.db.models import Count
from django.utils import timezone

from jobs.models import BulkRequeue, DeadLetter, DeadLetterEvent
from jobs.redaction import seal
from jobs.services import bulk_requeue
from tests.helpers import wait_for

pytestmark = pytest.mark.worker

COUNT = 1000
RATE = 200.0  # per second: fast for the test; operators choose their own pace
# About 15 s on an idle 2-core machine; the generous waits only keep a busy
# machine from failing it (the pace is asserted as a floor, never a deadline).


def dead_letters_for(switches) -> list[int]:
    """One open dead letter of tests.fails_until_fixed per switch, as the base task leaves them."""
    now = timezone.now()
    rows = DeadLetter.objects.bulk_create(
        DeadLetter(task_name="tests.fails_until_fixed", task_id=f"{switch}-task", queue="default",
                   args=[switch], sealed_arguments=seal({"args": [switch], "kwargs": {}}),
                   exception_class="jobs.errors.TemporaryError", first_failed_at=now,
                   last_failed_at=now)
        for switch in switches
    )  # fmt: skip
    return [row.pk for row in rows]


def test_bulk_requeue_of_1000_keeps_its_pace_and_resolves_each_once(worker, admin_user):
    control = redis.Redis.from_url(os.environ["TEST_CONTROL_REDIS_URL"])
    prefix = f"bulk-{uuid.uuid4().hex}"
    switches = [f"{prefix}-{n}" for n in range(COUNT)]
    letters = dead_letters_for(switches)
    control.mset(dict.fromkeys(switches, "fixed"))  # the cause is fixed: requeues succeed

    bulk = bulk_requeue.start_bulk_requeue(
        dead_letter_ids=letters, rate_per_second=RATE, actor=admin_user
    )
    bulk = wait_for(
        lambda: (b := BulkRequeue.objects.get(pk=bulk.pk)).status == "done" and b,
        timeout=120, what="the bulk requeue to finish", diagnostics=worker.log_tail,
    )  # fmt: skip
    wait_for(
        lambda: not DeadLetter.objects.filter(pk__in=letters).exclude(status="resolved").exists(),
        timeout=120, what="every requeued task to succeed", diagnostics=worker.log_tail,
    )  # fmt: skip

    assert (bulk.requeued, bulk.refused, bulk.position) == (COUNT, 0, COUNT)
    # The pace is a ceiling: COUNT requeues at RATE/s cannot take less than this.
    assert (bulk.finished_at - bulk.first_step_at).total_seconds() >= (COUNT - 1) / RATE
    runs = control.mget([f"{switch}:ran" for switch in switches])
    assert set(runs) == {b"1"}, "every task ran exactly once"
    events = (
        DeadLetterEvent.objects.filter(dead_letter_id__in=letters)
        .values("action")
        .annotate(n=Count("pk"))
    )
    assert {row["action"]: row["n"] for row in events} == {
        DeadLetterEvent.Action.REQUEUED: COUNT,
        DeadLetterEvent.Action.SUCCEEDED: COUNT,
    }
    control.delete(*switches, *[f"{switch}:ran" for switch in switches])
