"""/readyz with Redis Sentinel: every Sentinel answers and names the master, or it says which not.

Against a real master, replica and three Sentinels (tests/sentinel.py). The
job locks and the beat lease go through the Sentinels too, so the lease
/readyz names is read from whichever node they call the master.
"""

import logging

import pytest

from jobs import locks, redis_clients
from jobs.beat import LEASE
from tests.processes import free_port
from tests.sentinel import MASTER_NAME, UNUSED_HOST_URL, shared_redis_sentinels  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def through_sentinels(settings, shared_redis_sentinels):  # noqa: F811 (the fixture above)
    settings.REDIS_SENTINELS = shared_redis_sentinels.nodes
    settings.REDIS_SENTINEL_MASTER = MASTER_NAME
    settings.ORDERLY_LOCK_REDIS_URL = UNUSED_HOST_URL  # the database only
    # No worker in these tests: let the broker check fail fast.
    settings.ORDERLY_READINESS_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.ORDERLY_READINESS_TIMEOUT = 1.0
    return shared_redis_sentinels


def test_readyz_names_the_master_the_sentinels_agree_on_and_the_lease_lives_there(
    client, through_sentinels
):
    cluster = through_sentinels
    assert locks.hold(LEASE, owner="box-1:4242:abc123", timeout=5)
    try:
        body = client.get("/readyz").json()
        check = body["checks"]["redis_sentinels"]
        assert check["ok"] is True, check
        assert check["master"] == cluster.master.address
        assert set(check["nodes"]) == set(cluster.nodes)
        assert "redis_sentinels" not in body["failed"]
        assert body["beat"] == {"active": "box-1:4242:abc123"}
        # The lease is on the node the Sentinels call the master, not on the replica's side.
        assert cluster.master.client().get(locks.KEY_PREFIX + LEASE) == b"box-1:4242:abc123"
    finally:
        locks.release(LEASE, owner="box-1:4242:abc123")


def test_readyz_fails_naming_the_sentinel_that_does_not_answer(client, settings, through_sentinels):
    silent = f"127.0.0.1:{free_port()}"
    settings.REDIS_SENTINELS = [*through_sentinels.nodes, silent]

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert "redis_sentinels" in body["failed"]
    check = body["checks"]["redis_sentinels"]
    assert check["ok"] is False
    assert check["detail"] == f"Sentinel {silent} did not answer"
    assert check["nodes"][silent].startswith("did not answer")
    for node in through_sentinels.nodes:  # the others still name the master
        assert check["nodes"][node] == f"master at {through_sentinels.master.address}"


def test_readyz_says_when_no_sentinel_knows_the_master(client, settings, through_sentinels):
    settings.REDIS_SENTINEL_MASTER = "no-such-master"

    check = client.get("/readyz").json()["checks"]["redis_sentinels"]

    assert check["ok"] is False
    assert check["detail"] == "no Sentinel knows the master 'no-such-master'"
    assert set(check["nodes"].values()) == {"does not monitor 'no-such-master'"}


def test_readyz_has_no_sentinel_check_without_sentinels(client, settings):
    settings.ORDERLY_READINESS_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.ORDERLY_READINESS_TIMEOUT = 1.0
    assert "redis_sentinels" not in client.get("/readyz").json()["checks"]


def test_start_up_log_says_which_sentinels_were_tried_and_which_did_not_answer(
    settings, through_sentinels, caplog
):
    silent = f"127.0.0.1:{free_port()}"
    settings.REDIS_SENTINELS = [silent, *through_sentinels.nodes]

    with caplog.at_level(logging.INFO, logger="jobs.redis_clients"):
        redis_clients.log_sentinels_at_start()

    (record,) = caplog.records
    assert record.levelno == logging.WARNING  # one node is away
    message = record.getMessage()
    master = through_sentinels.master.address
    assert message.startswith(f"Redis through Sentinel, master '{MASTER_NAME}' at {master}; ")
    assert f"{silent} (did not answer" in message
    for node in through_sentinels.nodes:
        assert f"{node} (master at {master})" in message
