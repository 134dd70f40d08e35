"""Rotating SECRET_KEY keeps open dead letters requeueable while the old key is a fallback."""

import re
from pathlib import Path

import pytest
from django.test import override_settings

from jobs.errors import DeadLetterError
from jobs.models import DeadLetter, DeadLetterEvent, OutboxMessage
from jobs.redaction import CannotUnseal, seal, unseal
from jobs.services import dead_letters
from tests.worker_tasks import always_fails  # noqa: F401 (registers tests.always_fails)

pytestmark = pytest.mark.django_db

OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40
ARGUMENTS = {"card_number": "4242424242424242", "api_token": "secret-token"}


@pytest.fixture
def letter_sealed_with_the_old_key():
    with override_settings(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[]):
        return dead_letters.record_dead_letter(
            task_name="tests.always_fails",
            task_id="task-rotated",
            queue="default",
            args=["hello"],
            kwargs=ARGUMENTS,
            exc=RuntimeError("boom"),
            traceback="Traceback ...",
            attempts=1,
            worker_hostname="worker@host",
            first_failed_at=None,
            reference="",
        )


def test_dead_letter_sealed_before_a_rotation_requeues_with_the_old_key_as_fallback(
    letter_sealed_with_the_old_key,
):
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]):
        dead_letters.requeue_dead_letter(dead_letter_id=letter_sealed_with_the_old_key.pk)

    outbox = OutboxMessage.objects.get()
    assert outbox.signature["task"] == "tests.always_fails"
    assert outbox.signature["args"] == ["hello"]
    assert outbox.signature["kwargs"] == ARGUMENTS
    letter = DeadLetter.objects.get(pk=letter_sealed_with_the_old_key.pk)
    assert letter.status == DeadLetter.Status.REQUEUED


def test_without_the_old_key_the_requeue_is_refused_with_the_reason_and_the_letter_stays_open(
    letter_sealed_with_the_old_key,
):
    with (
        override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(DeadLetterError, match="SECRET_KEY_FALLBACKS") as refused,
    ):
        dead_letters.requeue_dead_letter(dead_letter_id=letter_sealed_with_the_old_key.pk)

    assert "cannot be decrypted" in str(refused.value)
    letter = DeadLetter.objects.get(pk=letter_sealed_with_the_old_key.pk)
    assert letter.status == DeadLetter.Status.OPEN
    assert not OutboxMessage.objects.exists()
    [event] = letter.events.all()
    assert event.action == DeadLetterEvent.Action.REQUEUE_REFUSED
    assert "SECRET_KEY_FALLBACKS" in event.detail


def test_sealing_uses_the_new_key_so_the_old_one_can_be_dropped_later():
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]):
        token = seal(ARGUMENTS)

    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        assert unseal(token) == ARGUMENTS
    with (
        override_settings(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(CannotUnseal),
    ):
        unseal(token)


def test_nothing_but_settings_and_the_sealing_reads_the_secret_key():
    """docs/security.md lists every value derived from SECRET_KEY; a new one must join it."""
    root = Path(__file__).resolve().parents[2]
    uses = re.compile(
        r"SECRET_KEY|salted_hmac|django\.core\.signing|from django\.core import signing|\bSigner\b"
    )
    skipped = {"tests", "node_modules", "var", "docs", "bench"}
    readers = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not (
            {*path.relative_to(root).parts} & skipped
            or any(part.startswith(".") or part == "migrations" for part in path.parts)
        )
        and uses.search(path.read_text(errors="replace"))
    }
    assert readers == {"project/settings.py", "jobs/redaction.py"}
    assert "## Rotating the secret key" in (root / "docs" / "security.md").read_text()
