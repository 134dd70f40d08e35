"""Real Celery processes for the tests: workers and beat in process groups of their own."""

import email
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import kombu.exceptions
import redis
from django.conf import settings
from django.db import connection

from project.celery import app as celery_app

from .helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The test database (created by pytest-django) as a URL a worker process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


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
        wait_for(
            self.answers_ping,
            timeout=60,
            what=f"worker {self.name} to answer a ping on "
            f"{celery_app.connection_for_write().as_uri()}",
            diagnostics=self.log_tail,
        )
        return self

    def answers_ping(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}\n{self.log_tail()}")
        try:
            return bool(celery_app.control.ping(destination=[self.name], timeout=0.5))
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
