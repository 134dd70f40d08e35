"""Dead-letter triage in admin: grouped by cause, dry runs, bulk actions and their guards."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs.errors import DeadLetterError, PermanentError
from jobs.models import BulkRequeue, DeadLetter, DeadLetterEvent, OutboxMessage
from jobs.selectors import dead_letter_groups
from jobs.services import bulk_requeue

TRIAGE = reverse("admin:jobs_deadletter_triage")
REQUEUE_MATCHING = reverse("admin:jobs_deadletter_requeue_matching")
RESOLVE_MATCHING = reverse("admin:jobs_deadletter_resolve_matching")


def test_groups_count_by_task_and_exception_over_hour_day_and_week(dead_letter_of):
    now = timezone.now()
    for age in (timedelta(minutes=5), timedelta(hours=3), timedelta(days=3)):
        letter = dead_letter_of()
        DeadLetter.objects.filter(pk=letter.pk).update(last_failed_at=now - age)
    newest = dead_letter_of(exc=PermanentError("card rejected"))
    dead_letter_of("tests.always_fails", exc=PermanentError("no"))

    groups = {(g["task_name"], g["exception_class"]): g for g in dead_letter_groups()}

    temporary = groups[("tests.fails_until_fixed", "jobs.errors.TemporaryError")]
    assert (temporary["hour"], temporary["day"], temporary["week"], temporary["total"]) == (
        1,
        2,
        3,
        3,
    )
    permanent = groups[("tests.fails_until_fixed", "jobs.errors.PermanentError")]
    assert (permanent["hour"], permanent["newest_id"]) == (1, newest.pk)
    assert permanent["newest_message"] == "card rejected"
    assert len(groups) == 3


def test_triage_page_links_each_group_to_its_filtered_list(admin_client, dead_letter_of):
    dead_letter_of()
    page = admin_client.get(TRIAGE).content.decode()
    assert "tests.fails_until_fixed" in page
    list_url = admin_client.get(
        reverse("admin:jobs_deadletter_changelist"),
        {"task_name": "tests.fails_until_fixed", "exception_class": "jobs.errors.TemporaryError",
         "status__exact": "open"},
    )  # fmt: skip
    assert list_url.status_code == 200
    assert (
        "task_name=tests.fails_until_fixed&amp;exception_class=jobs.errors.TemporaryError" in page
    )


def test_dry_run_counts_and_names_the_tasks_and_publishes_nothing(admin_client, dead_letter_of):
    for _ in range(3):
        dead_letter_of()
    dead_letter_of("tests.always_fails")

    response = admin_client.get(REQUEUE_MATCHING, {"task_name": "tests.fails_until_fixed"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dry run: 3 open dead letters" in page
    assert "tests.fails_until_fixed" in page and "tests.always_fails" not in page
    assert not OutboxMessage.objects.exists()
    assert not BulkRequeue.objects.exists()


def test_confirming_starts_one_paced_background_job_for_the_matching_open_letters(
    admin_client, dead_letter_of, django_capture_on_commit_callbacks
):
    wanted = [dead_letter_of().pk for _ in range(2)]
    dead_letter_of("tests.always_fails")

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            f"{REQUEUE_MATCHING}?task_name=tests.fails_until_fixed", {"rate_per_second": "50"}
        )

    bulk = BulkRequeue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:jobs_bulkrequeue_change", args=[bulk.pk])
    assert (bulk.dead_letter_ids, bulk.rate_per_second) == (sorted(wanted), 50.0)
    assert bulk.filter_description == "task_name=tests.fails_until_fixed"
    job = OutboxMessage.objects.get()
    assert (job.signature["task"], job.signature["args"]) == ("jobs.run_bulk_requeue", [bulk.pk])
    assert len(callbacks) == 1


def test_a_filter_matching_nothing_does_nothing_and_says_so(admin_client, dead_letter_of):
    dead_letter_of()
    query = "?task_name=no.such.task"

    dry_run = admin_client.get(REQUEUE_MATCHING + query).content.decode()
    confirmed = admin_client.post(REQUEUE_MATCHING + query, {"rate_per_second": "5"}, follow=True)
    resolved = admin_client.post(RESOLVE_MATCHING + query, {"note": "x"}, follow=True)

    assert "No open dead letter matches this filter" in dry_run
    assert "No open dead letter matches this filter; nothing was requeued." in (
        confirmed.content.decode()
    )
    assert "nothing was resolved" in resolved.content.decode()
    assert not BulkRequeue.objects.exists() and not OutboxMessage.objects.exists()
    assert DeadLetter.objects.get().status == DeadLetter.Status.OPEN


def test_an_invalid_filter_is_refused_with_a_message(admin_client, dead_letter_of):
    dead_letter_of()
    response = admin_client.get(REQUEUE_MATCHING + "?no_such_field=1", follow=True)
    assert "That filter is not valid; nothing was done." in response.content.decode()


@pytest.mark.parametrize("url", [REQUEUE_MATCHING, RESOLVE_MATCHING])
def test_bulk_actions_need_the_permission(client, staff_with, dead_letter_of, url):
    dead_letter_of()
    client.force_login(staff_with("jobs.view_deadletter"))

    assert client.get(url).status_code == 403
    assert client.post(url, {"rate_per_second": "5", "note": "x"}).status_code == 403
    assert DeadLetter.objects.get().status == DeadLetter.Status.OPEN


def test_requeue_permission_alone_allows_the_bulk_requeue(client, staff_with, dead_letter_of):
    dead_letter_of()
    client.force_login(staff_with("jobs.view_deadletter", "jobs.requeue_deadletter"))
    assert client.get(RESOLVE_MATCHING).status_code == 403
    assert client.get(REQUEUE_MATCHING).status_code == 200

    response = client.post(REQUEUE_MATCHING, {"rate_per_second": "5"}, follow=True)

    assert response.status_code == 200  # back on the list: the job's page needs its own permission
    assert "Requeueing 1 dead letter(s) at 5/s" in response.content.decode()
    assert BulkRequeue.objects.count() == 1


@pytest.mark.parametrize("url", [REQUEUE_MATCHING, RESOLVE_MATCHING])
def test_bulk_actions_need_a_csrf_token(admin_user, dead_letter_of, url):
    dead_letter_of()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(url, {"rate_per_second": "5", "note": "x"})

    assert response.status_code == 403
    assert not BulkRequeue.objects.exists()
    assert DeadLetter.objects.get().status == DeadLetter.Status.OPEN


def test_resolve_all_matching_keeps_the_note_on_each_and_audits_each(admin_client, dead_letter_of):
    letters = [dead_letter_of() for _ in range(3)]
    other = dead_letter_of("tests.always_fails")

    response = admin_client.post(
        f"{RESOLVE_MATCHING}?task_name=tests.fails_until_fixed",
        {"note": "partner outage, replayed by hand"},
        follow=True,
    )

    assert "3 dead letter(s) resolved." in response.content.decode()
    for letter in letters:
        letter.refresh_from_db()
        assert (letter.status, letter.note) == (
            DeadLetter.Status.RESOLVED, "partner outage, replayed by hand",
        )  # fmt: skip
        assert list(letter.events.values_list("action", "detail")) == [
            (DeadLetterEvent.Action.RESOLVED, "partner outage, replayed by hand")
        ]
    other.refresh_from_db()
    assert other.status == DeadLetter.Status.OPEN


def test_resolve_all_matching_needs_a_note(admin_client, dead_letter_of):
    dead_letter_of()
    response = admin_client.post(RESOLVE_MATCHING, {"note": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert DeadLetter.objects.get().status == DeadLetter.Status.OPEN


def test_a_rate_out_of_range_is_refused_with_a_message(admin_client, dead_letter_of):
    dead_letter_of()
    response = admin_client.post(REQUEUE_MATCHING, {"rate_per_second": "0"})
    assert response.status_code == 200
    assert "greater than or equal to 0.01" in response.content.decode()
    with pytest.raises(DeadLetterError, match="at most"):
        bulk_requeue.start_bulk_requeue(dead_letter_ids=[1], rate_per_second=10_000)
    assert not BulkRequeue.objects.exists()
