"""/healthz (liveness) and /readyz (database, broker, a worker for every queue)."""

import pytest
from django.conf import settings

from tests.processes import free_port


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
