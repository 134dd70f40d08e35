"""Production settings (DJANGO_DEBUG=false): deploy checks pass, missing values stop start-up."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What .env.example (and so the .env that `make dev` writes) sets.
DEVELOPMENT_KEY = next(
    line.split("=", 1)[1]
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line.startswith("DJANGO_SECRET_KEY=")
)

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "DATABASE_URL": "sqlite:////tmp/orderly-deploy-check.sqlite3",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    """manage.py in a fresh process with only `env` (plus PATH/HOME), never a .env file."""
    base = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_READ_DOT_ENV_FILE": "false", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_reports_no_warnings_with_production_variables_set():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_start_up_without_variables_names_each_missing_one():
    result = manage("check", env={"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"):
        assert name in last_line, result.stderr


def test_production_start_up_names_only_the_variables_that_are_missing():
    env = {**PRODUCTION_ENV}
    del env["DJANGO_ALLOWED_HOSTS"]
    result = manage("check", env=env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "DJANGO_ALLOWED_HOSTS" in last_line
    assert "DJANGO_SECRET_KEY" not in last_line and "DATABASE_URL" not in last_line


def test_production_refuses_the_development_secret_key_that_make_dev_writes_to_env():
    result = manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": DEVELOPMENT_KEY})
    assert result.returncode != 0
    assert "development key" in result.stderr.strip().splitlines()[-1], result.stderr


def test_production_hashes_passwords_with_pbkdf2_while_tests_use_md5():
    """The tests' MD5 hasher (tests/conftest.py) is theirs alone: production keeps PBKDF2."""
    from django.contrib.auth.hashers import get_hasher

    result = manage(
        "shell", "-c",
        "from django.contrib.auth.hashers import get_hasher, make_password; "
        "print(get_hasher().algorithm, make_password('x').split('$')[0])",
        env=PRODUCTION_ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["pbkdf2_sha256", "pbkdf2_sha256"]
    assert get_hasher().algorithm == "md5"  # this process: the test settings
