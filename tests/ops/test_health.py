"""/healthz (liveness) and /readyz (database, broker, a worker for every queue)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import ROOT, free_port


def test_healthz_answers_200_without_touching_any_dependency(client, settings):
    settings.ORDERLY_READINESS_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_and_names_the_broker_when_the_broker_is_unreachable(client, settings):
    settings.ORDERLY_READINESS_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.ORDERLY_READINESS_TIMEOUT = 1.0
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert "broker" in body["failed"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["detail"]


@pytest.mark.worker
def test_readyz_is_200_when_a_worker_consumes_every_queue(worker, client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body == {**body, "status": "ready", "failed": []}
    queues = body["checks"]["workers"]["queues"]
    assert set(queues) == set(settings.ORDERLY_QUEUES)
    for queue in settings.ORDERLY_QUEUES:
        assert worker.name in queues[queue]


@pytest.mark.django_db
def test_readyz_names_the_beat_that_holds_the_lease(client, settings):
    from jobs import locks
    from jobs.beat import LEASE

    settings.ORDERLY_READINESS_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.ORDERLY_READINESS_TIMEOUT = 1.0
    assert client.get("/readyz").json()["beat"] == {"active": None}
    assert locks.hold(LEASE, owner="box-1:4242:abc123", timeout=5)
    try:
        assert client.get("/readyz").json()["beat"] == {"active": "box-1:4242:abc123"}
        # A second beat cannot take it while it is held, and the holder renews it.
        assert not locks.hold(LEASE, owner="box-2:7:def456", timeout=5)
        assert locks.hold(LEASE, owner="box-1:4242:abc123", timeout=5)
    finally:
        locks.release(LEASE, owner="box-1:4242:abc123")
    assert client.get("/readyz").json()["beat"] == {"active": None}


@pytest.mark.django_db
def test_readyz_names_the_broker_node_that_does_not_answer(client, settings):
    """A failover list (a cluster's nodes): each node is asked; the silent one is named."""
    answering = f"{os.environ.get('TEST_REDIS_URL', 'redis://127.0.0.1:6379')}/0"
    silent = f"redis://127.0.0.1:{free_port()}/0"
    settings.ORDERLY_READINESS_BROKER_URL = f"{answering};{silent}"
    settings.ORDERLY_READINESS_TIMEOUT = 1.0
    response = client.get("/readyz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False
    assert broker["detail"].startswith(f"broker nodes not answering: {silent} (")
    assert answering not in broker["detail"]
    assert broker["nodes"][answering] == "answered"
    assert "Connection refused" in broker["nodes"][silent]


def test_web_start_up_logs_which_broker_nodes_answered():
    """project.wsgi (what gunicorn loads) says which nodes of the URL it could reach."""
    answering = f"{os.environ.get('TEST_REDIS_URL', 'redis://127.0.0.1:6379')}/0"
    silent = f"redis://127.0.0.1:{free_port()}/0"
    result = subprocess.run(
        [sys.executable, "-c", "import project.wsgi, time; time.sleep(3)"],
        cwd=ROOT,
        env={**os.environ, "CELERY_BROKER_URL": f"{answering};{silent}",
             "ORDERLY_READINESS_TIMEOUT": "1"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if "Broker nodes" in line)
    assert "WARNING ops.broker_nodes" in line
    assert f"{answering} (answered)" in line
    assert f"{silent} (OperationalError" in line or f"{silent} (ConnectionRefusedError" in line
