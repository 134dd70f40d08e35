"""Fixtures every test may use; the process classes live in tests/processes.py."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from project.celery import app as celery_app

from .environment import NAMESPACE
from .factories import ProductFactory
from .helpers import SUCCEEDING_CARD, tokenize, wait_for
from .lanes import LaneError, namespace_from_environment
from .processes import WorkerProcess, database_url, ensure_rabbitmq_vhost, refuse_namespace_in_use

# Markers by folder, so `make test-fast` can leave out what starts processes.
FOLDER_MARKERS = {"chaos": "chaos", "e2e": "browser"}
SESSION_WORKER_FIXTURES = {"worker", "celery_worker_process"}


def pytest_collection_modifyitems(config, items):
    """Mark chaos and browser tests by folder; run tests that start a worker last.

    Each lane's session worker consumes every queue of the lane's broker once
    started, so tests that inspect messages waiting there must run before it
    exists. xdist hands each lane its tests in this order too (`--dist load`).
    """
    for item in items:
        folder = Path(item.path).relative_to(Path(__file__).parent).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[folder])
        # A test that uses the session worker is a worker test, marked or not: run
        # earlier, its worker would take the messages later tests look for.
        if SESSION_WORKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("worker")
    # Among those, the chaos tests (the longest, up to a minute) go first, so
    # no lane is left running one alone at the end.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("worker") is not None,
            item.get_closest_marker("chaos") is None,
        )
    )


def pytest_sessionstart(session):
    """Claim every lane's broker namespace before any test runs; refuse one in use.

    A worker left by a killed run (workers run in sessions of their own, so
    they outlive it) would otherwise take a lane's tasks and write into
    another run's database. Under xdist the controller checks all lanes at
    once, so the refusal is one clear message, not a crashed lane.
    """
    if "PYTEST_XDIST_WORKER" in os.environ:
        return  # the controller has checked this lane
    lanes = [f"gw{index}" for index in range(len(session.config.getoption("tx", None) or []))]
    for namespace in [namespace_from_environment(lane) for lane in lanes] or [NAMESPACE]:
        if namespace.broker_url.startswith("amqp"):
            ensure_rabbitmq_vhost(namespace.broker_url)
        try:
            refuse_namespace_in_use(namespace)
        except LaneError as error:
            raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """MD5 in tests, as cookiecutter-django does: Django's PBKDF2 (1,000,000 rounds)
    costs a third of a second per user created or logged in. Production keeps
    PBKDF2 (tests/ops/test_production_settings.py).
    """
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def product(db):
    return ProductFactory(stock=10)


@pytest.fixture
def gateway(transactional_db, live_server, settings) -> str:
    """The sandbox gateway over HTTP on the live server, for the shop and for browsers.

    Transactional: the live server's threads must see what the test writes.
    """
    url = f"{live_server.url}/sandbox/gateway"
    settings.PAYMENT_GATEWAY_URL = settings.PAYMENT_GATEWAY_PUBLIC_URL = url
    return url


@pytest.fixture
def card_token(gateway):
    """card_token(number=4242...): a fresh single-use token from the gateway, over HTTP."""
    return lambda number=SUCCEEDING_CARD, **options: tokenize(gateway, number, **options)


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
    """One real worker for the session, consuming this lane's freshly purged broker."""
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
def worker(celery_worker_process, transactional_db, live_server, gateway):
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
