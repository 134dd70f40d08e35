"""Redis with Sentinel on loopback: a master, a replica and three Sentinels (quorum 2).

Every node is a `redis-server` of the test's own (`--sentinel` with a
generated configuration for the Sentinels), on ports from
tests.processes.free_port, stopped with the test. Sentinel's timers are the
recommended production values times the chaos tests' TIMER_SCALE, like every
other timer there, and the fixture asserts the order they must keep with
Orderly's (see `assert_sentinel_timers_in_order`).

The replica authenticates to the master as the ACL user `replicator`;
`hold_replication()` disables that user and drops its connection, which is
how the tests make a master acknowledge writes its replica never receives
(a partition between the two), and so prove what a failover can lose.
"""

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.helpers import wait_for
from tests.processes import free_port

MASTER_NAME = "orderly-test"
QUORUM = 2
# Recommended for production (docs/failure-and-recovery.md): a master silent for 10 s is
# down; a failover that has made no progress in 60 s is given up and tried again.
DOWN_AFTER_MS = 10_000
FAILOVER_TIMEOUT_MS = 60_000
REPLICATOR = ("replicator", "replicator-secret")
# ORDERLY_LOCK_REDIS_URL beside REDIS_SENTINELS: only its database counts. Nothing listens
# on its port, so a client that used the host instead of the Sentinels would fail loudly.
UNUSED_HOST_URL = "redis://127.0.0.1:9/0"
# The chaos workers' ORDERLY_OUTBOX_GRACE_SECONDS (tests/chaos/conftest.py, Chaos.env).
CHAOS_OUTBOX_GRACE_SECONDS = 1


def overdue_bound(timer_scale: float, outbox_grace: float) -> float:
    """jobs.services.overdue.overdue_after() in seconds, for workers at `timer_scale`."""
    unscaled = (settings.CELERY_VISIBILITY_TIMEOUT + settings.CELERY_TASK_TIME_LIMIT) / (
        settings.ORDERLY_TIMER_SCALE
    )
    return unscaled * timer_scale + outbox_grace


def assert_sentinel_timers_in_order(down_after_ms: int, failover_timeout_ms: int, bound: float):
    """A failover, even one that runs to its timeout, ends before the overdue sweep's bound.

    The sweep (jobs.services.overdue) takes a step with no attempt for longer than
    the visibility timeout + the hard time limit + the outbox grace for lost; a
    failover slower than that would have it republish steps the broker still held.
    """
    failover = (down_after_ms + failover_timeout_ms) / 1000
    assert failover < bound, (
        f"Sentinel's down-after ({down_after_ms} ms) + failover-timeout "
        f"({failover_timeout_ms} ms) is not below the overdue sweep's bound ({bound:g} s)"
    )


class RedisNode:
    """One redis-server (a data node or, with `sentinel_of`, a Sentinel)."""

    def __init__(self, directory: Path, name: str, lines: list[str], *, sentinel: bool = False):
        self.port = free_port()
        self.name = name
        self.directory = directory / name
        self.directory.mkdir()
        self.config = self.directory / "redis.conf"
        header = [f"port {self.port}", "bind 127.0.0.1", f"dir {self.directory}",
                  f"logfile {self.directory / 'redis.log'}"]  # fmt: skip
        self.config.write_text("\n".join([*header, *lines]) + "\n")
        self.sentinel = sentinel
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis("127.0.0.1", self.port, socket_connect_timeout=1, socket_timeout=2,
                           **kwargs)  # fmt: skip

    def start(self):
        command = ["redis-server", str(self.config)] + (["--sentinel"] if self.sentinel else [])
        self.process = subprocess.Popen(command)
        wait_for(self.answers, timeout=10, what=f"{self.name} on port {self.port}",
                 diagnostics=self.log_tail)  # fmt: skip
        return self

    def answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    def kill(self):
        """SIGKILL: no goodbye to clients or replicas, nothing written."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process dies too
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        log = self.directory / "redis.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return f"--- {self.name} (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


class SentinelCluster:
    """A master, a replica and three Sentinels monitoring them as MASTER_NAME."""

    def __init__(self, directory: Path, *, timer_scale: float, overdue_bound: float):
        self.down_after_ms = int(DOWN_AFTER_MS * timer_scale)
        self.failover_timeout_ms = int(FAILOVER_TIMEOUT_MS * timer_scale)
        assert_sentinel_timers_in_order(self.down_after_ms, self.failover_timeout_ms, overdue_bound)
        directory.mkdir(exist_ok=True)
        user, password = REPLICATOR
        data = ["save ''", "appendonly no", f"user {user} on >{password} ~* &* +@all"]
        self.master = RedisNode(directory, "master", data)
        self.replica = RedisNode(
            directory, "replica",
            [*data, f"replicaof 127.0.0.1 {self.master.port}", f"masteruser {user}",
             f"masterauth {password}"],
        )  # fmt: skip
        monitor = [
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master.port} {QUORUM}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}",
            f"sentinel failover-timeout {MASTER_NAME} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {MASTER_NAME} 1",
        ]
        self.sentinels = [
            RedisNode(directory, f"sentinel-{index}", monitor, sentinel=True) for index in range(3)
        ]

    @property
    def nodes(self) -> list[str]:
        """The Sentinels' addresses, as REDIS_SENTINELS lists them."""
        return [sentinel.address for sentinel in self.sentinels]

    def broker_url(self, db: int = 0) -> str:
        """kombu's sentinel:// form: one URL per Sentinel, separated by semicolons."""
        return ";".join(f"sentinel://{node}/{db}" for node in self.nodes)

    def env(self) -> dict[str, str]:
        """What a worker or beat needs to reach this Redis through the Sentinels only."""
        return {
            "CELERY_BROKER_URL": self.broker_url(),
            "REDIS_SENTINELS": ",".join(self.nodes),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
            # Names only the database once REDIS_SENTINELS is set; its host is never used.
            "ORDERLY_LOCK_REDIS_URL": UNUSED_HOST_URL,
        }

    def start(self):
        for node in [self.master, self.replica, *self.sentinels]:
            node.start()
        wait_for(self.settled, timeout=30, what="the replica and Sentinels to find each other",
                 diagnostics=self.logs)  # fmt: skip
        return self

    def settled(self) -> bool:
        """The replica is in sync and every Sentinel knows the master, the replica, the others."""
        if self.replica.client().info("replication").get("master_link_status") != "up":
            return False
        for sentinel in self.sentinels:
            state = sentinel.client().sentinel_master(MASTER_NAME)
            if state["num-slaves"] < 1 or state["num-other-sentinels"] < len(self.sentinels) - 1:
                return False
        return True

    def master_address(self) -> str | None:
        """Where the Sentinels put the master now (the first that answers), or None."""
        for sentinel in self.sentinels:
            try:
                host, port = sentinel.client().sentinel_get_master_addr_by_name(MASTER_NAME)
            except (redis.RedisError, TypeError):
                continue
            return f"{host.decode() if isinstance(host, bytes) else host}:{port}"
        return None

    def hold_replication(self) -> None:
        """Cut the replica off: the master acknowledges writes it will never receive."""
        user, _ = REPLICATOR
        master = self.master.client()
        master.execute_command("ACL", "SETUSER", user, "off")
        master.execute_command("CLIENT", "KILL", "USER", user)
        wait_for(
            lambda: self.replica.client().info("replication").get("master_link_status") == "down",
            timeout=10, what="the replica to lose its link to the master",
        )  # fmt: skip

    def wait_for_failover(self, timeout: float = 30) -> float:
        """Wait until every Sentinel names the replica as master and it accepts writes."""
        started = time.monotonic()

        def promoted():
            for sentinel in self.sentinels:
                try:
                    _, port = sentinel.client().sentinel_get_master_addr_by_name(MASTER_NAME)
                except (redis.RedisError, TypeError):
                    return False
                if int(port) != self.replica.port:
                    return False
            return self.replica.client().info("replication")["role"] == "master"

        wait_for(promoted, timeout=timeout, what="the Sentinels to promote the replica",
                 diagnostics=self.logs)  # fmt: skip
        return time.monotonic() - started

    def logs(self) -> str:
        return "\n".join(node.log_tail() for node in [self.master, self.replica, *self.sentinels])

    def stop(self):
        for node in [*self.sentinels, self.replica, self.master]:
            node.kill()


def running_cluster(directory: Path):
    """Start a cluster at the chaos timer scale in `directory`; yield it; stop it."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary to run Redis and Sentinels of its own")
    from tests.chaos.conftest import TIMER_SCALE

    cluster = SentinelCluster(
        directory,
        timer_scale=TIMER_SCALE,
        overdue_bound=overdue_bound(TIMER_SCALE, CHAOS_OUTBOX_GRACE_SECONDS),
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_sentinels(tmp_path):
    """A master, a replica and three Sentinels of this test's own, to break as it likes."""
    yield from running_cluster(tmp_path / "sentinel")


@pytest.fixture(scope="module")
def shared_redis_sentinels(tmp_path_factory):
    """The same, shared by a module's tests that only read from it (about 5 s to start)."""
    yield from running_cluster(tmp_path_factory.mktemp("sentinel"))
