"""Dead-letter rules that need no worker: requeue guards, permissions, redaction, countdowns."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from jobs.errors import DeadLetterError, PermanentError
from jobs.models import DeadLetter, DeadLetterEvent, OutboxMessage
from jobs.redaction import REDACTED, redact
from jobs.services import dead_letters
from tests.worker_tasks import always_fails


@pytest.fixture
def letter(db):
    return dead_letters.record_dead_letter(
        task_name="tests.always_fails",
        task_id="task-1",
        queue="default",
        args=["hello"],
        kwargs={"card_number": "4242424242424242", "api_token": "secret-token"},
        exc=PermanentError("boom"),
        traceback="Traceback ...",
        attempts=1,
        worker_hostname="worker@host",
        first_failed_at=None,
        reference="",
    )


def test_requeue_publishes_the_original_arguments_once_and_a_second_requeue_is_refused(letter):
    dead_letters.requeue_dead_letter(dead_letter_id=letter.pk)

    outbox = OutboxMessage.objects.get()
    assert outbox.signature["task"] == "tests.always_fails"
    assert outbox.signature["kwargs"] == {
        "card_number": "4242424242424242",
        "api_token": "secret-token",
    }
    assert outbox.signature["options"]["queue"] == "default"
    with pytest.raises(DeadLetterError, match="only open dead letters"):
        dead_letters.requeue_dead_letter(dead_letter_id=letter.pk)
    assert OutboxMessage.objects.count() == 1
    assert list(letter.events.values_list("action", flat=True)) == [
        DeadLetterEvent.Action.REQUEUED,
        DeadLetterEvent.Action.REQUEUE_REFUSED,
    ]


def test_resolved_dead_letter_cannot_be_requeued(letter):
    dead_letters.resolve_dead_letter(dead_letter_id=letter.pk, note="refunded by hand")
    letter.refresh_from_db()
    assert (letter.status, letter.note) == (DeadLetter.Status.RESOLVED, "refunded by hand")
    with pytest.raises(DeadLetterError, match="is resolved"):
        dead_letters.requeue_dead_letter(dead_letter_id=letter.pk)
    assert not OutboxMessage.objects.exists()


def test_dead_letter_of_a_task_that_no_longer_exists_is_shown_but_not_requeued(letter):
    DeadLetter.objects.filter(pk=letter.pk).update(task_name="orders.removed_long_ago")
    with pytest.raises(DeadLetterError, match="no longer exists"):
        dead_letters.requeue_dead_letter(dead_letter_id=letter.pk)
    assert DeadLetter.objects.get(pk=letter.pk).status == DeadLetter.Status.OPEN


def test_arguments_sealed_under_another_secret_key_are_refused_clearly(letter, settings):
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    with pytest.raises(DeadLetterError, match="SECRET_KEY rotated"):
        dead_letters.requeue_dead_letter(dead_letter_id=letter.pk)


def test_requeue_action_needs_its_own_permission(letter, client, django_user_model):
    staff = django_user_model.objects.create_user(
        username="ops", email="ops@example.com", password="pw", is_staff=True
    )
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_deadletter", "change_deadletter"])
    )
    client.force_login(staff)
    changelist = reverse("admin:jobs_deadletter_changelist")
    page = client.get(changelist).content.decode()
    assert 'value="resolve"' in page and 'value="requeue"' not in page

    staff.user_permissions.add(Permission.objects.get(codename="requeue_deadletter"))
    page = client.get(changelist).content.decode()
    assert 'value="requeue"' in page


def test_admin_shows_traceback_redacted_arguments_and_open_count(letter, admin_client):
    detail = admin_client.get(reverse("admin:jobs_deadletter_change", args=[letter.pk]))
    body = detail.content.decode()
    assert "Traceback ..." in body and "secret-token" not in body and REDACTED in body
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert "1 open dead letter" in index
    found = admin_client.get(reverse("admin:jobs_deadletter_changelist") + "?q=boom")
    assert "tests.always_fails" in found.content.decode()


def test_management_command_lists_requeues_and_refuses(letter, capsys):
    call_command("deadletters", "list")
    assert "tests.always_fails" in capsys.readouterr().out
    call_command("deadletters", "requeue", str(letter.pk))
    with pytest.raises(Exception, match="1 of 1 refused"):
        call_command("deadletters", "requeue", str(letter.pk))


def test_redaction_hides_secret_keys_and_bare_card_numbers():
    assert redact(
        {
            "Authorization": "Bearer x",
            "nested": {"password": "p", "ok": 1},
            "n": "4242 4242 4242 4242",
        }
    ) == {"Authorization": REDACTED, "nested": {"password": REDACTED, "ok": 1}, "n": REDACTED}
    assert redact(["hello", 42, "4000000000000002"]) == ["hello", 42, REDACTED]


def test_countdown_past_the_visibility_timeout_is_refused_at_enqueue(settings):
    settings.CELERY_VISIBILITY_TIMEOUT = 3600
    with pytest.raises(ValueError, match="visibility timeout"):
        always_fails.apply_async(args=["x"], countdown=3600)
    with pytest.raises(ValueError, match="visibility timeout"):
        always_fails.apply_async(args=["x"], eta=timezone.now() + timedelta(hours=2))
