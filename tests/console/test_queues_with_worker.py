"""Pausing a queue on real workers: messages wait, /readyz says paused, restarts stay paused."""

from pathlib import Path

import pytest
from celery import signature
from django.db import transaction

from jobs.models import PausedQueue
from jobs.services import queue_pausing
from jobs.services.outbox import publish_on_commit
from notifications.models import EmailLog
from project.celery import app as celery_app
from tests.factories import ProductFactory, create_order
from tests.helpers import wait_for
from tests.processes import WorkerProcess

pytestmark = pytest.mark.worker


@pytest.fixture
def emails_worker(worker):
    """The session worker; its emails consumer is restored whatever the test leaves."""
    yield worker
    celery_app.control.add_consumer("emails", destination=[worker.name], reply=True, timeout=2)


def send_confirmation(order):
    with transaction.atomic():
        publish_on_commit(signature("notifications.send_order_confirmation", args=(order.pk,)))


def wait_until_idle(worker):
    """A default-queue task has run: the worker took what it could take."""
    result = celery_app.send_task("jobs.purge_old_records", queue="default")
    result.get(timeout=30)


def emails_consumers():
    return queue_pausing.workers_consuming().get("emails", [])


def test_paused_queue_holds_its_messages_shows_as_paused_and_runs_them_on_resume(
    emails_worker, client, admin_user
):
    order = create_order({ProductFactory(): 1})
    change = queue_pausing.pause_queue(queue="emails", actor=admin_user)
    assert change.workers == [emails_worker.name]
    assert emails_consumers() == []

    send_confirmation(order)
    wait_until_idle(emails_worker)
    assert not EmailLog.objects.filter(order=order).exists()

    ready = client.get("/readyz")
    workers = ready.json()["checks"]["workers"]
    assert ready.status_code == 200, ready.json()
    assert workers["queues"]["emails"] == "paused" and workers["paused"] == ["emails"]
    client.force_login(admin_user)
    assert 'orderly_queue_paused{queue="emails"} 1.0' in client.get("/metrics").content.decode()

    queue_pausing.resume_queue(queue="emails", actor=admin_user)

    wait_for(lambda: EmailLog.objects.filter(order=order).exists(), what="the e-mail to be sent",
             diagnostics=emails_worker.log_tail)  # fmt: skip
    assert emails_consumers() == [emails_worker.name]


def test_a_worker_that_starts_while_its_queue_is_paused_stays_off_it_until_resumed(
    emails_worker, worker_env, tmp_path
):
    order = create_order({ProductFactory(): 1})
    queue_pausing.pause_queue(queue="emails")
    second = WorkerProcess(env=worker_env, log_path=tmp_path / "emails-worker.log",
                           mail_dir=Path(worker_env["EMAIL_FILE_PATH"]), queues=["emails"],
                           concurrency=1)  # fmt: skip
    second.start()
    try:
        wait_for(lambda: second.name in PausedQueue.objects.get(queue="emails").workers,
                 what="the new worker to join the pause", diagnostics=second.log_tail)  # fmt: skip
        assert emails_consumers() == []
        send_confirmation(order)
        wait_until_idle(emails_worker)
        assert not EmailLog.objects.filter(order=order).exists()

        change = queue_pausing.resume_queue(queue="emails")

        assert change.workers == sorted([emails_worker.name, second.name])
        wait_for(lambda: EmailLog.objects.filter(order=order).exists(),
                 what="the e-mail to be sent", diagnostics=second.log_tail)  # fmt: skip
    finally:
        second.stop()
