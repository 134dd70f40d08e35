"""Real Celery processes for the tests: workers and beat in process groups of their own."""

import email
import itertools
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import kombu.exceptions
import redis
from celery import Celery
from django.conf import settings
from django.db import connection

from project.celery import app as celery_app

from .helpers import wait_for
from .lanes import LaneError, Namespace, current_lane, lane_index

ROOT = Path(__file__).resolve().parent.parent


# Each lane (tests/lanes.py) hands out ports from a block of its own, below the
# kernel's ephemeral range: a port one lane probed free cannot be given to
# another lane's server before the first one binds it.
_PORT_BLOCK = 500
_next_port = itertools.count()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, from this lane's block."""
    first = 20_000 + _PORT_BLOCK * lane_index(current_lane())
    for _ in range(_PORT_BLOCK):
        port = first + next(_next_port) % _PORT_BLOCK
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + _PORT_BLOCK - 1}")


def database_url() -> str:
    """The test database (created by pytest-django) as a URL a worker process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def control_app(broker_url: str) -> Celery:
    """A Celery app for sending to, and controlling the workers of, one broker.

    Control commands travel through the app's own producer pool, whatever
    connection a call is given (kombu's Mailbox), so another broker needs an
    app of its own. It knows Orderly's queues, so `purge()` empties them all.
    Made anew per use: its pool lives in kombu's registry, which the chaos
    tests reset (tests.chaos.conftest.use_broker).
    """
    app = Celery("orderly-tests-control", set_as_current=False)
    app.conf.update(
        # Not broker_url: Celery prefers the CELERY_BROKER_URL variable to it.
        broker_write_url=broker_url,
        broker_read_url=broker_url,
        task_queues=settings.CELERY_TASK_QUEUES,
        broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        accept_content=["json"],
    )
    return app


def manage_check(tag: str, **env) -> subprocess.CompletedProcess:
    """`manage.py check --tag <tag>` at the ERROR level, in this environment plus `env`."""
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", tag, "--fail-level", "ERROR"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


class CeleryProcess:
    """A real `celery` subprocess in its own process group (so it can be killed whole)."""

    def __init__(self, *, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self):
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send `sig` to the main process and wait for the whole tree to exit."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        """SIGKILL the main process and every pool child at once, like an OOM kill."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 80) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.log_path.name} (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


class WorkerProcess(CeleryProcess):
    """A real `celery worker` consuming every Orderly queue (by default).

    `pool` is Celery's --pool: "prefork" (the default) or "gevent", which the
    Procfile runs for the I/O-bound queues.
    """

    def __init__(self, *, env, log_path, mail_dir: Path, queues=None, concurrency=2,
                 pool="prefork"):  # fmt: skip
        super().__init__(env=env, log_path=log_path)
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.mail_dir = mail_dir
        self.queues = queues or settings.ORDERLY_QUEUES
        self.concurrency = concurrency
        self.pool = pool

    def command(self):
        return [
            sys.executable, "-m", "celery", "-A", "project", "worker",
            "--queues", ",".join(self.queues),
            "--hostname", self.name,
            "--concurrency", str(self.concurrency),
            "--pool", self.pool,
            "--loglevel", "INFO",
            "--without-gossip", "--without-mingle",
            "--include", "tests.worker_tasks",
        ]  # fmt: skip

    def start(self):
        super().start()
        try:
            wait_for(
                self.answers_ping,
                timeout=60,
                what=f"worker {self.name} to answer a ping on {self.broker_url}",
                diagnostics=self.log_tail,
            )
        except BaseException:
            self.kill()  # never leave a worker behind that nobody will stop
            raise
        return self

    @property
    def broker_url(self) -> str:
        return self.env.get("CELERY_BROKER_URL") or celery_app.conf.broker_url

    def answers_ping(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}\n{self.log_tail()}")
        try:
            return bool(control_app(self.broker_url).control.ping([self.name], timeout=0.5))
        except (OSError, redis.exceptions.ConnectionError, kombu.exceptions.OperationalError):
            return False  # our own pooled connection to a restarted broker; try again

    def sent_mail(self) -> list[email.message.Message]:
        """Messages the worker's file e-mail backend wrote (one file per connection)."""
        separator = "-" * 79
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_text().split(separator):
                if chunk.strip():
                    messages.append(email.message_from_string(chunk.strip()))
        return messages


class BeatProcess(CeleryProcess):
    """A real `celery beat` with the DatabaseScheduler (schedules from the test database)."""

    def command(self):
        return [sys.executable, "-m", "celery", "-A", "project", "beat",
                "--loglevel", "INFO", "--max-interval", "1"]  # fmt: skip


def workers_consuming(broker_url: str, timeout: float = 0.5) -> dict[str, int | None]:
    """Workers that answer on this broker (its control channel), by hostname, with their pid."""
    stats = control_app(broker_url).control.inspect(timeout=timeout).stats()
    return {name: (reply or {}).get("pid") for name, reply in (stats or {}).items()}


def refuse_namespace_in_use(namespace: Namespace) -> None:
    """Raise LaneError naming the namespace if a live worker already consumes it."""
    workers = workers_consuming(namespace.broker_url)
    if workers:
        found = ", ".join(f"{name} (pid {pid})" for name, pid in sorted(workers.items()))
        raise LaneError(
            f"{namespace.describe()} is already in use by {found}: a worker left by a killed "
            "test run, or another run on this machine. This lane would share its tasks. "
            f"Stop it (kill {' '.join(str(pid) for pid in workers.values() if pid)}) and run again."
        )


def ensure_rabbitmq_vhost(amqp_url: str) -> None:
    """Create the lane's vhost on the local RabbitMQ node (rabbitmqctl) and let its user in."""
    parts = urlsplit(amqp_url)
    vhost, user = unquote(parts.path.lstrip("/")), parts.username or "guest"
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts", "name"], check=True,
                            capture_output=True, text=True, timeout=60).stdout.split()  # fmt: skip
    if vhost not in listed:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True,
                       capture_output=True, timeout=60)  # fmt: skip
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
