"""/healthz (liveness) and /readyz (database, broker, a worker for every queue)."""

import pytest
from django.conf import settings

from tests.ops.conftest import free_port


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
