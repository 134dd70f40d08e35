"""Fault injection against real processes: a private Redis we can stop, workers we can kill."""

import os
import shutil
import socket
import subprocess
import time

import pytest
import redis
from kombu import pools

from project.celery import app as celery_app
from tests.conftest import BeatProcess, WorkerProcess
from tests.helpers import wait_for

# Short enough that a killed worker's message comes back within seconds;
# longer than any task these tests run (slow card 1 s, slow invoice 3 s).
VISIBILITY_TIMEOUT = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of our own, persisting every write (append-only file, fsync always)."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--logfile", str(self.directory / "redis.log")],
        )  # fmt: skip
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        """A clean shutdown (SIGTERM): Redis flushes its append-only file and exits."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def use_broker(url: str) -> None:
    """Point this (test) process's producer at another broker.

    Celery's `conf.broker_url` prefers the CELERY_BROKER_URL environment
    variable over the configured value, so both change.
    """
    os.environ["CELERY_BROKER_URL"] = url
    celery_app.conf.broker_url = url
    # kombu keeps connection and producer pools in a global registry keyed by
    # URL; start afresh, or switching back would reuse a pool closed here.
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary to run a Redis of its own")
    server = RedisServer(tmp_path).start()
    previous = celery_app.conf.broker_url
    use_broker(server.url)
    yield server
    use_broker(previous)
    server.stop()


@pytest.fixture
def chaos(worker_env, private_redis, transactional_db, live_server, tmp_path):
    """Start workers and beat against the private Redis; everything is stopped afterwards."""

    class Chaos:
        def __init__(self):
            self.redis = private_redis
            self.processes = []

        def env(self, **extra):
            return {
                **worker_env,
                "CELERY_BROKER_URL": private_redis.url,
                "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
                "CELERY_UNACKED_RESTORE_INTERVAL": "1",
                "ORDERLY_OUTBOX_GRACE_SECONDS": "1",
                **extra,
            }

        def worker(self, **extra_env) -> WorkerProcess:
            index = len(self.processes)
            worker = WorkerProcess(
                env=self.env(**extra_env),
                log_path=tmp_path / f"worker-{index}.log",
                mail_dir=tmp_path / "mail",
            )
            (tmp_path / "mail").mkdir(exist_ok=True)
            worker.env["EMAIL_FILE_PATH"] = str(tmp_path / "mail")
            self.processes.append(worker)
            return worker.start()

        def supervise(self) -> None:
            """Replace workers that exited, as a process supervisor would.

            Celery's worker can exit with "Unrecoverable error" when the broker
            connection drops mid-ack (celery/celery#4652, #8030 and kin), which
            is why production runs it under `restart: unless-stopped`/systemd.
            """
            for process in list(self.processes):
                exited = isinstance(process, WorkerProcess) and process.process.poll() is not None
                if exited and not getattr(process, "replaced", False):
                    process.replaced = True
                    slow = {k: v for k, v in process.env.items() if k.startswith("TEST_SLOW")}
                    self.worker(**slow)

        def beat(self) -> BeatProcess:
            beat = BeatProcess(env=self.env(), log_path=tmp_path / "beat.log")
            self.processes.append(beat)
            return beat.start()

        def logs(self) -> str:
            return "\n".join(process.log_tail(40) for process in self.processes)

    chaos = Chaos()
    yield chaos
    for process in chaos.processes:
        process.kill()
    time.sleep(0.2)
