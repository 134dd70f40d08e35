"""Job locks against the real Redis (the test run's own database)."""

import time
import uuid

import pytest

from jobs import locks
from jobs.errors import TemporaryError


@pytest.fixture
def name():
    name = f"test:{uuid.uuid4().hex}"
    yield name
    locks._lock(name).redis.delete(locks.KEY_PREFIX + name)


def test_second_run_is_refused_at_once_while_the_first_holds_the_lock(name):
    with locks.exclusive(name, timeout=10):
        started = time.monotonic()
        with pytest.raises(locks.LockHeld), locks.exclusive(name, timeout=10):
            pytest.fail("the second run must not get the lock")
        assert time.monotonic() - started < 0.5  # never waits


def test_lock_is_free_again_when_the_run_ends(name):
    with locks.exclusive(name, timeout=10):
        pass
    with locks.exclusive(name, timeout=10):
        assert locks.holder(name) is not None
    assert locks.holder(name) is None


def test_lock_is_released_when_the_run_fails(name):
    with pytest.raises(ZeroDivisionError), locks.exclusive(name, timeout=10):
        1 / 0  # noqa: B018
    assert locks.holder(name) is None


def test_lock_of_a_dead_run_frees_itself_after_its_timeout(name):
    assert locks.acquire(name, owner="crashed-worker", timeout=0.3)
    assert not locks.acquire(name, owner="next-run", timeout=10)
    time.sleep(0.5)
    assert locks.acquire(name, owner="next-run", timeout=10)


def test_owner_gets_its_own_lock_again_and_nobody_else_releases_it(name):
    assert locks.acquire(name, owner="sales-report:1", timeout=10)
    assert locks.acquire(name, owner="sales-report:1", timeout=10)  # a redelivered task
    assert not locks.release(name, owner="sales-report:2")
    assert locks.holder(name) == "sales-report:1"
    assert locks.release(name, owner="sales-report:1")
    assert locks.holder(name) is None


def test_unreachable_lock_store_is_a_temporary_error(name, settings):
    settings.ORDERLY_LOCK_REDIS_URL = "redis://127.0.0.1:9/0"
    with (
        pytest.raises(TemporaryError, match="lock store unreachable"),
        locks.exclusive(name, timeout=10),
    ):
        pytest.fail("must not run without its lock")
