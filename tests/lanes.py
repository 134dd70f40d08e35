"""Test lanes: each pytest-xdist worker (gw0, gw1, ...) gets a broker namespace of its own.

A lane's namespace is everything a test run shares through a server: the
Celery broker (queues, the control and event channels that `purge`,
`revoke`, `inspect` and `ping` go through), the job locks, and the test
switches of tests/worker_tasks.py. Lanes never share one, so a lane's
session worker consumes only its own lane's tasks and no lane can purge,
revoke or inspect another's work (tests/test_lanes.py proves it):

- Redis broker: lane N uses database 15 - 2N for its broker and locks, and
  15 - 2N - 1 for its test switches (Redis pub/sub, which carries Celery's
  control messages, is global to a server, but kombu prefixes each fanout
  channel with the database number). Six lanes fit in databases 4-15;
  0-3 stay free for a development system on the same Redis.
- RabbitMQ broker (TEST_BROKER_URL=amqp://...): lane N uses the vhost
  `orderly-test-gwN`, created before the lane starts; its switches and
  locks stay in its Redis switch database.

Pure standard library: tests/environment.py imports this before Django starts.
"""

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

DEFAULT_REDIS_SERVER = "redis://127.0.0.1:6379"
MAX_LANES = 6  # Redis's default 16 databases, two per lane, 0-3 left free


class LaneError(RuntimeError):
    """This lane cannot get a namespace of its own; the message says why."""


@dataclass(frozen=True)
class Namespace:
    lane: str
    broker_url: str
    control_url: str  # test switches (tests/worker_tasks.py)
    lock_url: str  # jobs.locks and the beat lease

    def describe(self) -> str:
        return f"lane {self.lane}: broker {self.broker_url}, switches {self.control_url}"


def current_lane() -> str:
    """This process's lane: the xdist worker id (gw0, gw1, ...), gw0 without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def lane_index(lane: str) -> int:
    match = re.fullmatch(r"gw(\d+)", lane)
    if not match:
        raise LaneError(f"lane {lane!r} is not an xdist worker id like gw0")
    index = int(match.group(1))
    if index >= MAX_LANES:
        raise LaneError(
            f"lane {lane} has no Redis databases left: at most {MAX_LANES} lanes run on one "
            f"Redis (two databases each). Run with -n {MAX_LANES} or fewer."
        )
    return index


def _with_db(server: str, db: int) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def _with_vhost(amqp_url: str, vhost: str) -> str:
    parts = urlsplit(amqp_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


def rabbitmq_vhost(lane: str) -> str:
    return f"orderly-test-{lane}"


def namespace_for(
    lane: str, *, redis_server: str = DEFAULT_REDIS_SERVER, amqp_url: str | None = None
) -> Namespace:
    """The namespace of `lane` on this Redis server (and RabbitMQ, when it is the broker)."""
    index = lane_index(lane)
    broker_db, control_db = 15 - 2 * index, 14 - 2 * index
    control_url = _with_db(redis_server, control_db)
    if amqp_url:
        return Namespace(
            lane=lane,
            broker_url=_with_vhost(amqp_url, rabbitmq_vhost(lane)),
            control_url=control_url,
            lock_url=control_url,
        )
    broker_url = _with_db(redis_server, broker_db)
    return Namespace(lane=lane, broker_url=broker_url, control_url=control_url, lock_url=broker_url)


def namespace_from_environment(lane: str | None = None) -> Namespace:
    """The namespace of `lane` (this process's by default) from the environment.

    TEST_REDIS_URL names the Redis server (databases are the lane's).

    TEST_BROKER_URL=amqp://... makes RabbitMQ the broker (a vhost per lane).
    A Redis TEST_BROKER_URL with TEST_CONTROL_REDIS_URL names one exact
    namespace; that is for a single lane (no xdist) only.
    """
    lane = lane or current_lane()
    redis_server = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_SERVER)
    broker = os.environ.get("TEST_BROKER_URL", "")
    if broker.startswith("amqp"):
        return namespace_for(lane, redis_server=redis_server, amqp_url=broker)
    if broker:
        if lane != "gw0" or "PYTEST_XDIST_WORKER" in os.environ:
            raise LaneError(
                f"TEST_BROKER_URL={broker} names one Redis database, but lanes need one each: "
                "set TEST_REDIS_URL to the Redis server instead, or run without -n."
            )
        control = os.environ.get("TEST_CONTROL_REDIS_URL")
        if not control or control == broker:
            raise LaneError(
                f"TEST_BROKER_URL={broker} needs TEST_CONTROL_REDIS_URL, another Redis database "
                "for the test switches (it is flushed after tests)."
            )
        return Namespace(lane=lane, broker_url=broker, control_url=control, lock_url=broker)
    return namespace_for(lane, redis_server=redis_server)
