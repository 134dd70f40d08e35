"""The paced bulk requeue job, called directly: refusals, slices, cancelling, never twice."""

import pytest

from jobs.models import BulkRequeue, DeadLetter, DeadLetterEvent, OutboxMessage
from jobs.services import bulk_requeue


def _published_tasks():
    return list(OutboxMessage.objects.order_by("pk").values_list("signature__task", flat=True))


def test_each_open_letter_is_requeued_once_and_the_refused_ones_say_why(dead_letter_of, admin_user):
    fine = dead_letter_of()
    gone = dead_letter_of("tests.task_that_was_deleted")
    unreadable = dead_letter_of()
    DeadLetter.objects.filter(pk=unreadable.pk).update(sealed_arguments="not-a-sealed-token")
    also_fine = dead_letter_of()
    bulk = bulk_requeue.start_bulk_requeue(
        dead_letter_ids=[fine.pk, gone.pk, unreadable.pk, also_fine.pk],
        rate_per_second=500,
        actor=admin_user,
    )

    bulk = bulk_requeue.run_bulk_requeue(bulk_id=bulk.pk)

    assert (bulk.status, bulk.position, bulk.requeued, bulk.refused) == ("done", 4, 2, 2)
    assert "no longer exists" in bulk.refusals[0] and f"#{gone.pk}" in bulk.refusals[0]
    assert f"#{unreadable.pk}" in bulk.refusals[1]
    statuses = dict(DeadLetter.objects.values_list("pk", "status"))
    assert statuses == {fine.pk: "requeued", gone.pk: "open", unreadable.pk: "open",
                        also_fine.pk: "requeued"}  # fmt: skip
    refused = DeadLetterEvent.objects.filter(action=DeadLetterEvent.Action.REQUEUE_REFUSED)
    assert set(refused.values_list("dead_letter_id", flat=True)) == {gone.pk, unreadable.pk}
    requeued = DeadLetterEvent.objects.filter(action=DeadLetterEvent.Action.REQUEUED)
    assert set(requeued.values_list("actor", flat=True)) == {admin_user.pk}
    # the job's own first slice, then one publish per requeued dead letter
    assert _published_tasks() == ["jobs.run_bulk_requeue"] + ["tests.fails_until_fixed"] * 2


def test_running_the_job_again_requeues_nothing_twice(dead_letter_of):
    letters = [dead_letter_of().pk for _ in range(3)]
    first = bulk_requeue.start_bulk_requeue(dead_letter_ids=letters, rate_per_second=500)
    bulk_requeue.run_bulk_requeue(bulk_id=first.pk)
    bulk_requeue.run_bulk_requeue(bulk_id=first.pk)  # a redelivered slice
    second = bulk_requeue.start_bulk_requeue(dead_letter_ids=letters, rate_per_second=500)

    second = bulk_requeue.run_bulk_requeue(bulk_id=second.pk)

    assert (second.requeued, second.refused) == (0, 3)
    assert all("only open dead letters can be requeued" in r for r in second.refusals)
    assert _published_tasks().count("tests.fails_until_fixed") == 3


def test_a_slice_that_runs_out_of_time_hands_over_to_the_next(dead_letter_of):
    letters = [dead_letter_of().pk for _ in range(3)]
    bulk = bulk_requeue.start_bulk_requeue(dead_letter_ids=letters, rate_per_second=500)

    bulk = bulk_requeue.run_bulk_requeue(bulk_id=bulk.pk, slice_seconds=0)

    assert (bulk.status, bulk.position) == ("running", 0)
    assert _published_tasks() == ["jobs.run_bulk_requeue", "jobs.run_bulk_requeue"]
    bulk = bulk_requeue.run_bulk_requeue(bulk_id=bulk.pk)
    assert (bulk.status, bulk.requeued) == ("done", 3)


def test_a_cancelled_job_stops_before_its_next_requeue(dead_letter_of):
    letters = [dead_letter_of().pk for _ in range(3)]
    bulk = bulk_requeue.start_bulk_requeue(dead_letter_ids=letters, rate_per_second=500)
    bulk_requeue.cancel_bulk_requeue(bulk_id=bulk.pk)

    bulk = bulk_requeue.run_bulk_requeue(bulk_id=bulk.pk)

    assert (bulk.status, bulk.position, bulk.requeued) == (BulkRequeue.Status.CANCELLED, 0, 0)
    assert not DeadLetter.objects.exclude(status="open").exists()
    with pytest.raises(Exception, match="is cancelled"):
        bulk_requeue.cancel_bulk_requeue(bulk_id=bulk.pk)


def test_cancel_button_needs_the_requeue_permission(client, staff_with, dead_letter_of):
    bulk = bulk_requeue.start_bulk_requeue(dead_letter_ids=[dead_letter_of().pk], rate_per_second=5)
    client.force_login(staff_with("jobs.view_bulkrequeue"))
    assert client.post(f"/admin/jobs/bulkrequeue/{bulk.pk}/cancel/").status_code == 403
    bulk.refresh_from_db()
    assert not bulk.cancel_requested
