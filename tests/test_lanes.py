"""Parallel lanes never share work: two lanes' workers side by side, each sees only its own.

The lanes' namespaces come from the same function the test run uses
(tests/lanes.py), laid on a Redis server of the test's own, so the lanes
of this very run are not disturbed.
"""

import pytest
import redis

from tests import worker_tasks  # noqa: F401 (tests.records_its_worker)
from tests.chaos.conftest import private_redis  # noqa: F401 (a Redis of the test's own)
from tests.helpers import wait_for
from tests.lanes import LaneError, Namespace, namespace_for
from tests.processes import (
    WorkerProcess,
    control_app,
    refuse_namespace_in_use,
    workers_consuming,
)


@pytest.fixture
def lanes(private_redis):  # noqa: F811 (the imported fixture)
    server = private_redis.url.rsplit("/", 1)[0]
    return namespace_for("gw0", redis_server=server), namespace_for("gw1", redis_server=server)


@pytest.fixture
def start_worker(worker_env, transactional_db, tmp_path):
    started = []

    def start(namespace: Namespace) -> WorkerProcess:
        env = {
            **worker_env,
            "CELERY_BROKER_URL": namespace.broker_url,
            "TEST_CONTROL_REDIS_URL": namespace.control_url,
            "ORDERLY_LOCK_REDIS_URL": namespace.lock_url,
        }
        worker = WorkerProcess(
            env=env,
            log_path=tmp_path / f"worker-{namespace.lane}.log",
            mail_dir=tmp_path,
            queues=["default"],
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.kill()  # they hold nothing worth a graceful stop


def publish(namespace: Namespace, note: str) -> None:
    control_app(namespace.broker_url).send_task(
        "tests.records_its_worker", args=[note], queue="default"
    )


def waiting(namespace: Namespace) -> int:
    return redis.Redis.from_url(namespace.broker_url).llen("default")


@pytest.mark.worker
def test_two_lanes_workers_each_see_only_their_own_tasks(lanes, start_worker):
    lane_a, lane_b = lanes
    worker_b = start_worker(lane_b)
    switches_a = redis.Redis.from_url(lane_a.control_url)
    switches_b = redis.Redis.from_url(lane_b.control_url)

    # Lane A's task waits first in line; lane B's worker must leave it alone.
    publish(lane_a, "ran-a")
    publish(lane_b, "ran-b")
    wait_for(lambda: switches_b.get("ran-b"), what="lane B's task", diagnostics=worker_b.log_tail)
    assert switches_b.get("ran-b").decode() == worker_b.name
    assert waiting(lane_a) == 1, "lane B's worker took lane A's task"
    assert switches_a.get("ran-a") is None

    # Control commands stay in their lane: inspect, and purge.
    assert workers_consuming(lane_a.broker_url) == {}
    assert worker_b.name in workers_consuming(lane_b.broker_url)
    control_app(lane_b.broker_url).control.purge()
    assert waiting(lane_a) == 1, "a purge on lane B emptied lane A's queue"

    worker_a = start_worker(lane_a)
    wait_for(lambda: switches_a.get("ran-a"), what="lane A's task", diagnostics=worker_a.log_tail)
    assert switches_a.get("ran-a").decode() == worker_a.name
    assert worker_a.name not in workers_consuming(lane_b.broker_url)


@pytest.mark.worker
def test_a_lane_whose_namespace_a_live_worker_consumes_refuses_to_start(lanes, start_worker):
    lane_a, lane_b = lanes
    stale = start_worker(lane_a)  # as a killed run leaves its worker behind

    with pytest.raises(LaneError) as refused:
        refuse_namespace_in_use(lane_a)
    message = str(refused.value)
    assert lane_a.broker_url in message and stale.name in message
    refuse_namespace_in_use(lane_b)  # a free namespace is taken without complaint


def test_lanes_beyond_the_redis_databases_are_refused_by_name():
    with pytest.raises(LaneError, match="gw6"):
        namespace_for("gw6")
    namespaces = [namespace_for(f"gw{index}") for index in range(6)]
    databases = [url for ns in namespaces for url in (ns.broker_url, ns.control_url)]
    assert len(set(databases)) == 12
    assert not {url.rsplit("/", 1)[1] for url in databases} & {"0", "1", "2", "3"}
