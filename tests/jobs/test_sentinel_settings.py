"""REDIS_SENTINELS and REDIS_SENTINEL_MASTER: what settings build from them, and what is refused.

Settings read the environment once, so each configuration is read by a
`manage.py` process of its own, as a deployment would.
"""

import json
import os
import subprocess
import sys

from jobs.checks import sentinel_problems
from tests.processes import ROOT

SHOW = """
import json
from django.conf import settings
from jobs import redis_clients
lock = redis_clients.client(settings.ORDERLY_LOCK_REDIS_URL)
print(json.dumps({
    "broker": settings.CELERY_BROKER_URL,
    "sentinels": settings.REDIS_SENTINELS,
    "master_name": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("master_name"),
    "result_master_name": settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS.get("master_name"),
    "lock_pool": type(lock.connection_pool).__name__,
    "lock_db": lock.connection_pool.connection_kwargs.get("db"),
}))
"""


def settings_with(**env) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_"))}
    environment.pop("ORDERLY_LOCK_REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW],
        cwd=ROOT, env={**environment, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sentinels_turn_the_broker_url_into_the_sentinel_form_and_the_locks_follow_them():
    shown = settings_with(
        REDIS_URL="redis://:s%40cret@old-master:6379/4",
        REDIS_SENTINELS="10.0.0.5:26379,10.0.0.6:26379",
        REDIS_SENTINEL_MASTER="orderly",
    )
    assert shown["broker"] == (
        "sentinel://:s%40cret@10.0.0.5:26379/4;sentinel://:s%40cret@10.0.0.6:26379/4"
    )
    assert shown["master_name"] == shown["result_master_name"] == "orderly"
    assert shown["lock_pool"] == "SentinelConnectionPool"
    assert shown["lock_db"] == 4  # the URL's database; its host is not used


def test_a_sentinel_broker_url_alone_names_the_sentinels_for_the_locks_too():
    shown = settings_with(
        CELERY_BROKER_URL="sentinel://:pw@10.0.0.5:26379/2;sentinel://:pw@10.0.0.6:26380/2",
        REDIS_SENTINEL_MASTER="orderly",
    )
    assert shown["sentinels"] == ["10.0.0.5:26379", "10.0.0.6:26380"]
    assert shown["lock_pool"] == "SentinelConnectionPool"


def test_manage_py_check_refuses_sentinels_without_a_master_name():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_BROKER")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env={**environment, "REDIS_SENTINELS": "10.0.0.5:26379"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "jobs.E005" in result.stderr
    assert "REDIS_SENTINEL_MASTER is empty" in result.stderr


def test_a_broker_url_that_names_one_redis_is_refused_beside_sentinels(settings, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:pw@10.0.0.9:6379/0")
    settings.REDIS_SENTINELS = ["10.0.0.5:26379", "not-an-address"]
    settings.REDIS_SENTINEL_MASTER = "orderly"

    problems = sentinel_problems()

    assert "REDIS_SENTINELS: 'not-an-address' is not host:port, e.g. 10.0.0.5:26379" in problems
    (broker,) = [problem for problem in problems if problem.startswith("CELERY_BROKER_URL")]
    assert "10.0.0.9:6379/0" in broker and "pw" not in broker
    assert "would not follow a failover" in broker
