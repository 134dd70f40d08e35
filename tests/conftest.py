import email
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import kombu.exceptions
import pytest
import redis
from django.conf import settings
from django.db import connection

from project.celery import app as celery_app

from .factories import ProductFactory
from .helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    """Run tests that start a worker last.

    The session's worker consumes every queue once started, so tests that
    inspect messages waiting in Redis must run before it exists.
    """
    items.sort(key=lambda item: item.get_closest_marker("worker") is not None)


@pytest.fixture
def product(db):
    return ProductFactory(stock=10)


def _database_url() -> str:
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
    """A real `celery worker` consuming every Orderly queue (by default)."""

    def __init__(self, *, env, log_path, mail_dir: Path, queues=None, concurrency=2):
        super().__init__(env=env, log_path=log_path)
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.mail_dir = mail_dir
        self.queues = queues or settings.ORDERLY_QUEUES
        self.concurrency = concurrency

    def command(self):
        return [
            sys.executable, "-m", "celery", "-A", "project", "worker",
            "--queues", ",".join(self.queues),
            "--hostname", self.name,
            "--concurrency", str(self.concurrency),
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


@pytest.fixture(scope="session")
def worker_env(django_db_setup, live_server, tmp_path_factory) -> dict:
    """Environment for worker processes: the test database, broker, live sandbox."""
    mail_dir = tmp_path_factory.mktemp("worker-mail")
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SITE_URL": live_server.url,
        "PAYMENT_GATEWAY_URL": f"{live_server.url}/sandbox/gateway",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def celery_worker_process(worker_env, tmp_path_factory, django_db_blocker):
    """One real worker for the session, on a freshly purged broker."""
    with django_db_blocker.unblock():
        celery_app.control.purge()
    log_dir = tmp_path_factory.mktemp("worker-logs")
    worker = WorkerProcess(
        env=worker_env,
        log_path=log_dir / "worker.log",
        mail_dir=Path(worker_env["EMAIL_FILE_PATH"]),
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db, live_server):
    """The running worker, for a test whose data it must see (committed, live server up)."""
    for path in celery_worker_process.mail_dir.glob("*.log"):
        path.unlink()
    return celery_worker_process
