"""Test environment, loaded by pytest (`-p tests.environment`) before Django starts.

Settings read the environment once, at import; this sets what the tests
need first: a broker namespace of this lane's own (tests/lanes.py) that also
holds the job locks, fast retries, a quick warehouse-sync rate
limit, a sandbox card that is slow for one second instead of three, and
media under a temporary folder. Values already in the environment win,
so CI can point the suite at another broker (TEST_BROKER_URL) or database.
Passwords are hashed with MD5 in tests only (tests/conftest.py), never here.
"""

import os
import tempfile

from tests.lanes import namespace_from_environment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["DJANGO_READ_DOT_ENV_FILE"] = "false"  # a developer's .env must not leak in
os.environ.setdefault("DJANGO_DEBUG", "true")  # development defaults; pytest-django turns
# settings.DEBUG off while tests run, as in production.
# This lane's broker namespace (tests/lanes.py): its own Redis databases (or
# RabbitMQ vhost) for the broker, the job locks and the test switches, so
# parallel lanes (pytest-xdist) never see each other's tasks.
NAMESPACE = namespace_from_environment()
os.environ["CELERY_BROKER_URL"] = NAMESPACE.broker_url
# Test-only tasks (tests/worker_tasks.py) keep their switches in this Redis database.
os.environ["TEST_CONTROL_REDIS_URL"] = NAMESPACE.control_url
# Job locks (jobs.locks) and the beat lease go to the lane's own Redis database,
# never to the REDIS_URL a development system on this machine may be using.
os.environ["ORDERLY_LOCK_REDIS_URL"] = NAMESPACE.lock_url
# Retries of the warehouse sync pass through its rate limit; keep them quick.
os.environ.setdefault("ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT", "30/m")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("ORDERLY_RETRY_BACKOFF_SECONDS", "0.2")
os.environ.setdefault("ORDERLY_RETRY_BACKOFF_MAX_SECONDS", "1")
os.environ.setdefault("SANDBOX_ENABLED", "true")
os.environ.setdefault("SANDBOX_SLOW_CARD_SECONDS", "1")
# Webhook retries within a test's patience; the local receiver runs on 127.0.0.1.
os.environ.setdefault("ORDERLY_WEBHOOK_RETRY_SCHEDULE", "0.1,0.2,0.3")
os.environ.setdefault("ORDERLY_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
_run_dir = tempfile.mkdtemp(prefix="orderly-test-")
os.environ.setdefault("MEDIA_ROOT", os.path.join(_run_dir, "media"))
# A file (not :memory:) so worker processes can open the test database;
# one per run so two runs on one machine do not share it.
os.environ.setdefault("SQLITE_TEST_NAME", os.path.join(_run_dir, "test.sqlite3"))
