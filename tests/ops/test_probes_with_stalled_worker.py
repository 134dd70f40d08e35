"""A stalled worker holds no web thread: /readyz and /metrics answer without waiting, and truly.

The worker is a real process stopped with SIGSTOP, so it cannot answer the
broadcast that asks which queues it consumes. Asking waits out the readiness
timeout; ops.worker_facts does that in a background thread, and the probe
answers from the last answer, labelled with its age. How fast they answer is
not what is asserted: the test lengthens the timeout to 10 s, so that a call
that waited for the worker would take all of it, and the hang guard (half of
it) tells that apart from a loaded CI machine's slow answer (0.7 s was seen
against a guard of 0.5 s when the timeout was the default 2 s).
"""

import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.processes import WorkerProcess

pytestmark = pytest.mark.worker

TOKEN = "scrape-secret"


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def workers_check(response) -> dict:
    return response.json()["checks"]["workers"]


@pytest.fixture
def own_worker(worker_env, transactional_db, tmp_path):
    """A worker of this test's own (the session worker must not be stopped)."""
    worker = WorkerProcess(env=worker_env, log_path=tmp_path / "stalled-worker.log",
                           mail_dir=Path(worker_env["EMAIL_FILE_PATH"]), queues=["default"],
                           concurrency=1)  # fmt: skip
    worker.start()
    yield worker
    os.killpg(worker.process.pid, signal.SIGCONT)
    worker.stop()


def test_scrape_and_readiness_answer_without_waiting_for_a_stalled_worker(
    own_worker, client, settings
):
    settings.ORDERLY_METRICS_TOKEN = TOKEN
    settings.ORDERLY_READINESS_TIMEOUT = 10.0
    settings.ORDERLY_WORKER_FACTS_MAX_AGE = 1.0
    metrics_headers = {"Authorization": f"Bearer {TOKEN}"}
    # The warm-up: the first question in this process is waited for, once.
    wait_for(lambda: own_worker.name in workers_check(client.get("/readyz"))["queues"]["default"],
             timeout=30, what="the worker listed by /readyz")  # fmt: skip

    os.killpg(own_worker.process.pid, signal.SIGSTOP)  # main process and pool alike
    stopped_at = time.time()
    calls, answers = 0, []
    # The answer ages past its 1 s, the next question waits out the 10 s: then it is unlisted.
    deadline = time.monotonic() + 3 * settings.ORDERLY_READINESS_TIMEOUT
    while time.monotonic() < deadline:
        readyz, readyz_seconds = timed(client.get, "/readyz")
        metrics, metrics_seconds = timed(client.get, "/metrics", headers=metrics_headers)
        calls += 2
        # No call waits for the stalled worker (that takes the whole 10 s timeout)...
        assert max(readyz_seconds, metrics_seconds) < settings.ORDERLY_READINESS_TIMEOUT / 2, (
            f"/readyz took {readyz_seconds * 1000:.0f} ms, /metrics {metrics_seconds * 1000:.0f} ms"
        )
        assert metrics.status_code == 200
        assert b"orderly_worker_facts_age_seconds" in metrics.content
        check = workers_check(readyz)
        asked_at = datetime.fromisoformat(check["asked_at"]).timestamp()
        listed = own_worker.name in check["queues"]["default"]
        answers.append((listed, asked_at))
        if listed:
            # Stale, and labelled so: it answered a question asked before it stopped.
            assert asked_at < stopped_at, check
            assert check["age_seconds"] >= time.time() - stopped_at - 0.01, check
        elif asked_at > stopped_at:
            break  # asked after the stop, it did not answer: it is not counted
        time.sleep(0.05)
    else:
        pytest.fail(f"no question asked after the stop went unanswered: {answers}")

    assert answers[0][0], "the first answer after the stop still listed it, as of before"
    assert calls >= 4
