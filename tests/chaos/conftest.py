"""Fault injection against real processes: a private Redis we can stop, workers we can kill."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import redis
from kombu import pools

from project.celery import app as celery_app
from tests.helpers import documented_defaults, wait_for
from tests.processes import ROOT, BeatProcess, WorkerProcess, free_port

# The chaos workers run with every timer multiplied by this (ORDERLY_TIMER_SCALE):
# the visibility timeout, hard time limits, retry cap and abandoned-order delay
# shrink together, so they race in the production order, which the fixture
# checks with the same system check a deployment runs. A killed worker's
# message comes back after 30 s instead of 300 s; 1/20 left a loaded CI
# machine too little room under the soft time limits (1.5 s to send an
# e-mail). Tests marked `shipped_timers` run with the shipped defaults.
TIMER_SCALE = 0.1
# The payment gateway's timeouts race the charge's soft time limit (3 s at this
# scale; orders.checks), so they shrink too: 0.5 + 2 s, under 3 s, while the
# sandbox's slow card (1 s, tests/environment.py) still answers in time. Not
# TIMER_SCALE times the shipped 3 + 10 s: a 1 s read timeout would race the slow card.
SCALED_GATEWAY_TIMEOUTS = {
    "PAYMENT_GATEWAY_CONNECT_TIMEOUT": "0.5",
    "PAYMENT_GATEWAY_READ_TIMEOUT": "2",
}
_timer_order_checked: set[float] = set()


def shipped_timer_settings() -> dict[str, str]:
    """Every timer variable of .env.example at its documented (shipped) value."""
    return {
        name: value
        for name, value in documented_defaults().items()
        if name.startswith(("CELERY_", "ORDERLY_RETRY_", "ORDERLY_ABANDONED", "ORDERLY_BEAT_"))
        and name != "CELERY_BROKER_URL"
    }


def assert_timers_in_order(env: dict) -> None:
    """The workers' timers keep their required order: `manage.py check` with their environment."""
    scale = float(env["ORDERLY_TIMER_SCALE"])
    if scale in _timer_order_checked:
        return
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", "orderly_timers", "--fail-level", "ERROR"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, f"timers out of order at scale {scale}:\n{check.stderr}"
    _timer_order_checked.add(scale)


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
def chaos(request, worker_env, private_redis, gateway, live_server, tmp_path):
    """Start workers and beat against the private Redis; everything is stopped afterwards."""
    shipped = request.node.get_closest_marker("shipped_timers") is not None

    class Chaos:
        def __init__(self):
            self.redis = private_redis
            self.processes = []
            self.timer_scale = 1.0 if shipped else TIMER_SCALE
            assert_timers_in_order(self.env())

        def env(self, **extra):
            return {
                **worker_env,
                "CELERY_BROKER_URL": private_redis.url,
                "ORDERLY_TIMER_SCALE": str(self.timer_scale),
                # How often a worker sweeps for expired unacknowledged messages:
                # not a racing timer, only how soon after expiry one is noticed.
                "CELERY_UNACKED_RESTORE_INTERVAL": "1",
                # Shipped timers means the documented defaults, not the test run's
                # fast retries (tests/environment.py).
                **(shipped_timer_settings() if shipped else SCALED_GATEWAY_TIMEOUTS),
                "ORDERLY_OUTBOX_GRACE_SECONDS": "1",
                **extra,
            }

        def worker(self, pool="prefork", **extra_env) -> WorkerProcess:
            index = len(self.processes)
            worker = WorkerProcess(
                env=self.env(**extra_env),
                log_path=tmp_path / f"worker-{index}.log",
                mail_dir=tmp_path / "mail",
                pool=pool,
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
                    self.worker(pool=process.pool, **slow)

        def beat(self, **extra_env) -> BeatProcess:
            index = len(self.processes)
            beat = BeatProcess(env=self.env(**extra_env), log_path=tmp_path / f"beat-{index}.log")
            self.processes.append(beat)
            return beat.start()

        def logs(self) -> str:
            return "\n".join(process.log_tail(40) for process in self.processes)

        def stacks(self) -> str:
            """Where each live worker and beat main process is (SIGUSR1 prints its threads)."""
            live = [
                process
                for process in self.processes
                if isinstance(process, WorkerProcess | BeatProcess)
                and process.process.poll() is None
            ]
            sizes = {process: process.log_path.stat().st_size for process in live}
            for process in live:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.process.pid, signal.SIGUSR1)
            time.sleep(1)
            dumps = []
            for process in live:
                with process.log_path.open("rb") as log:
                    log.seek(sizes[process])
                    text = log.read().decode(errors="replace")
                dumps.append(f"--- {process.log_path.name}: stacks on SIGUSR1 ---\n{text}")
            return "\n".join(dumps)

    chaos = Chaos()
    yield chaos
    for process in chaos.processes:
        process.kill()
        # A main process killed alone may leave pool children in its group.
        with contextlib.suppress(ProcessLookupError, TypeError, AttributeError):
            os.killpg(process.process.pid, signal.SIGKILL)
    time.sleep(0.2)
