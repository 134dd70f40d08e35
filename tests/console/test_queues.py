"""Pausing a queue from admin when no worker runs: audit, messages, guards, the index."""

import pytest
from django.test import Client
from django.urls import reverse

from jobs.errors import QueuePauseError
from jobs.models import PausedQueue, QueueEvent
from jobs.services import queue_pausing
from notifications.models import WebhookEndpoint

QUEUES = reverse("admin:jobs_pausedqueue_changelist")


def pause_url(queue):
    return reverse("admin:jobs_pausedqueue_pause", args=[queue])


def test_pausing_a_queue_no_worker_serves_says_so_and_still_records_the_pause(admin_client):
    response = admin_client.post(pause_url("reports"), {"note": "S3 maintenance"}, follow=True)

    page = response.content.decode()
    assert "No worker serves queue reports right now" in page
    row = PausedQueue.objects.get()
    assert (row.queue, row.note, row.workers, row.paused_by.username) == (
        "reports", "S3 maintenance", [], "admin",
    )  # fmt: skip
    event = QueueEvent.objects.get()
    assert (event.action, event.actor.username) == ("paused", "admin")
    assert "no worker serves this queue now" in event.detail
    assert 'id="queue-reports"' in page and "paused" in page


def test_a_paused_queue_shows_on_the_admin_index_until_resumed(admin_client):
    queue_pausing.pause_queue(queue="emails")
    assert "1 queue paused" in admin_client.get("/admin/").content.decode()

    response = admin_client.post(reverse("admin:jobs_pausedqueue_resume", args=["emails"]))

    assert response.status_code == 302
    assert not PausedQueue.objects.exists()
    assert "queue paused" not in admin_client.get("/admin/").content.decode()
    assert list(QueueEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "paused", "resumed",
    ]  # fmt: skip


def test_unknown_or_repeated_pauses_are_refused_with_the_reason(admin_client):
    with pytest.raises(QueuePauseError, match="Unknown queue 'nope'"):
        queue_pausing.pause_queue(queue="nope")
    queue_pausing.pause_queue(queue="emails")
    again = admin_client.post(pause_url("emails"), follow=True).content.decode()
    not_paused = admin_client.post(
        reverse("admin:jobs_pausedqueue_resume", args=["payments"]), follow=True
    ).content.decode()
    assert "Queue &#x27;emails&#x27; is already paused." in again
    assert "Queue &#x27;payments&#x27; is not paused." in not_paused
    assert PausedQueue.objects.count() == QueueEvent.objects.count() == 1


def test_pausing_needs_the_permission_and_a_csrf_token(client, staff_with, admin_user):
    client.force_login(staff_with("jobs.view_pausedqueue"))
    assert client.get(QUEUES).status_code == 200
    assert client.post(pause_url("emails")).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(pause_url("emails")).status_code == 403
    assert client.get(pause_url("emails")).status_code == 405
    assert not PausedQueue.objects.exists()


def test_admin_index_flags_disabled_webhook_endpoints_and_open_dead_letters(
    admin_client, dead_letter_of
):
    WebhookEndpoint.objects.create(
        url="https://partner.example/hooks", secret="whsec_x", is_active=False,
        disabled_reason="30 failures in a row",
    )  # fmt: skip
    dead_letter_of()

    page = admin_client.get("/admin/").content.decode()

    assert "1 webhook endpoint disabled" in page
    assert "https://partner.example/hooks" in page and "30 failures in a row" in page
    assert "1 open dead letter" in page and "triage them by cause" in page
