"""Flower shows tasks from the workers' events, which need no task-sent event.

A publish sends no event (CELERY_TASK_SEND_SENT_EVENT is off: nothing reads
it); the worker announces what it receives and how it ends, with the task's
name, which is what Flower's task list and the console's Flower links are
built from.
"""

import threading
import time
import uuid
from pathlib import Path

import pytest

from project.celery import app as celery_app
from tests.helpers import wait_for
from tests.processes import WorkerProcess

pytestmark = pytest.mark.worker


@pytest.fixture
def events_worker(worker_env, transactional_db, tmp_path):
    """A worker of this test's own on a queue of its own: no other test's worker takes its task."""
    queue = f"events-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(env=worker_env, log_path=tmp_path / "events-worker.log",
                           mail_dir=Path(worker_env["EMAIL_FILE_PATH"]), queues=[queue],
                           concurrency=1)  # fmt: skip
    worker.start()
    yield worker
    worker.stop()


def test_a_task_shows_in_the_worker_events_flower_reads_and_its_publish_sends_none(
    events_worker,
):
    worker = events_worker
    events = []
    with celery_app.connection_for_read() as connection:
        receiver = celery_app.events.Receiver(connection, handlers={"*": events.append})
        thread = threading.Thread(
            target=lambda: receiver.capture(limit=None, timeout=None, wakeup=False), daemon=True
        )
        thread.start()
        # The receiver's queue exists only once it consumes, which may be between a
        # task's two events: publish again until it hears one task's both.
        task_ids, last_publish = [], 0.0

        def heard():
            if any(
                {"task-received", "task-succeeded"} <= {e["type"] for e in events_of(events, [i])}
                for i in task_ids
            ):
                return True
            if time.monotonic() - last_publish > 2:
                publish()
            return False

        def publish():
            nonlocal last_publish
            task_ids.append(
                celery_app.send_task("jobs.purge_old_records", queue=worker.queues[0]).id
            )
            last_publish = time.monotonic()

        try:
            wait_for(heard, timeout=40, what="the worker's events for the task",
                     diagnostics=worker.log_tail)  # fmt: skip
        finally:
            receiver.should_stop = True
            thread.join(timeout=10)
    mine = events_of(events, task_ids)
    assert {e["name"] for e in mine if e["type"] == "task-received"} == {"jobs.purge_old_records"}
    assert "task-sent" not in {e["type"] for e in events}


def events_of(events, task_ids):
    return [e for e in list(events) if e.get("uuid") in task_ids]
