"""Flower (a real `celery flower` process) refuses anyone without the basic-auth password."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.helpers import wait_for
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flower(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("flower") / "flower.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "project", "flower",
             "--address=127.0.0.1", f"--port={port}"],
            cwd=ROOT,
            env={**os.environ, "FLOWER_BASIC_AUTH": "operator:flower-secret"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers():
        if process.poll() is not None:
            raise AssertionError(f"flower exited\n{log_path.read_text()}")
        try:
            return requests.get(f"{url}/healthcheck", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, timeout=30, what="flower to listen", diagnostics=log_path.read_text)
    yield url
    process.terminate()
    process.wait(10)


def test_flower_refuses_anonymous_requests(flower):
    assert requests.get(f"{flower}/", timeout=5).status_code == 401


def test_flower_refuses_a_wrong_password(flower):
    response = requests.get(f"{flower}/", auth=("operator", "guess"), timeout=5)
    assert response.status_code == 401


def test_flower_serves_the_dashboard_with_the_right_password(flower):
    response = requests.get(f"{flower}/", auth=("operator", "flower-secret"), timeout=5)
    assert response.status_code == 200


def test_flower_prometheus_metrics_need_no_password(flower):
    """Flower serves /metrics unauthenticated: keep port 5555 off the public network."""
    response = requests.get(f"{flower}/metrics", timeout=5)
    assert response.status_code == 200
    assert "flower_" in response.text
