import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.models import EmailLog
from notifications.tasks import send_welcome_email
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


def test_signup_welcome_email_is_sent_once_even_when_the_task_runs_twice(client, worker):
    client.post(
        reverse("accounts:signup"),
        {"full_name": "Ada Lovelace", "email": "ada@example.com", "password": "engine-Diff-1843"},
    )
    user = get_user_model().objects.get()
    wait_for(
        lambda: EmailLog.objects.filter(user=user).exists(),
        what="the welcome e-mail",
        diagnostics=worker.log_tail,
    )

    # A duplicate delivery. The task stores no result (its EmailLog is the
    # record); this one call asks for it, so the test can see it ran.
    second = send_welcome_email.apply_async((user.pk,), ignore_result=False)
    # ran, and sent nothing: it says why (jobs.requeue.NothingDone, stored as its text)
    assert "already sent" in second.get(timeout=30)

    assert EmailLog.objects.filter(user=user, kind=EmailLog.Kind.WELCOME).count() == 1
    welcome = [m for m in worker.sent_mail() if m["To"] == "ada@example.com"]
    assert len(welcome) == 1
    assert "Welcome" in welcome[0]["Subject"]
