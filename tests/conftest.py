"""Fixtures every test may use; the process classes live in tests/processes.py."""

import os
from pathlib import Path

import pytest
from django.conf import settings

from project.celery import app as celery_app

from .factories import ProductFactory
from .helpers import wait_for
from .processes import WorkerProcess, database_url


def pytest_collection_modifyitems(config, items):
    """Run tests that start a worker last.

    The session's worker consumes every queue once started, so tests that
    inspect messages waiting in Redis must run before it exists.
    """
    items.sort(key=lambda item: item.get_closest_marker("worker") is not None)


@pytest.fixture
def product(db):
    return ProductFactory(stock=10)


@pytest.fixture(scope="session")
def worker_env(django_db_setup, live_server, tmp_path_factory) -> dict:
    """Environment for worker processes: the test database, broker, live sandbox."""
    mail_dir = tmp_path_factory.mktemp("worker-mail")
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
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
    """The running worker, for a test whose data it must see (committed, live server up).

    The worker outlives the test, so the test's leftovers go with it: a retry
    due in a minute, or a webhook still backing off, would otherwise run
    during a later test and write into its database (a dead letter of
    someone else's, counted there).
    """
    for path in celery_worker_process.mail_dir.glob("*.log"):
        path.unlink()
    yield celery_worker_process
    drop_leftover_work(celery_worker_process)


def drop_leftover_work(worker: WorkerProcess, timeout: float = 30) -> None:
    """Revoke what the worker holds for later, purge the queues, let running tasks end."""
    inspect = celery_app.control.inspect([worker.name], timeout=2)
    held = [
        *((inspect.scheduled() or {}).get(worker.name) or []),
        *((inspect.reserved() or {}).get(worker.name) or []),
    ]
    task_ids = [entry.get("request", entry)["id"] for entry in held]
    if task_ids:
        celery_app.control.revoke(task_ids, destination=[worker.name])
    celery_app.control.purge()
    wait_for(
        lambda: not (inspect.active() or {}).get(worker.name),
        timeout=timeout,
        what=f"the tasks still running on {worker.name} to end",
        diagnostics=worker.log_tail,
    )
