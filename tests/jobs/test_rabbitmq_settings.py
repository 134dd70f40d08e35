"""RabbitMQ queue types: what each declares, and the system check that refuses quorum on direct.

The settings are read in fresh processes (they are read from the environment
once, at import); the cluster itself is exercised in
tests/chaos/test_rabbitmq_cluster.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.core import checks
from kombu import Exchange, Queue

from jobs.checks import BROKER_TAG, check_rabbitmq_queues
from jobs.rabbitmq import queue_of_delivery, task_queues
from tests.processes import manage_check

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("default", "payments")

SHOW_SETTINGS = """
import django, json
django.setup()
from django.conf import settings
print(json.dumps({
    "queues": [
        [q.name, q.exchange.name, q.exchange.type, q.routing_key, q.queue_arguments]
        for q in settings.CELERY_TASK_QUEUES
    ],
    "confirm_publish": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("confirm_publish"),
    "default_exchange_type": getattr(settings, "CELERY_TASK_DEFAULT_EXCHANGE_TYPE", None),
    "detect_quorum": getattr(settings, "CELERY_WORKER_DETECT_QUORUM_QUEUES", None),
}))
"""


def settings_with(**env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_quorum_on_rabbitmq_declares_quorum_queues_on_one_topic_exchange_with_confirms():
    found = settings_with(
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//;amqp://guest:guest@127.0.0.1:5673//",
        ORDERLY_RABBITMQ_QUEUE_TYPE="quorum",
    )
    assert found["queues"] and all(
        exchange == "orderly"
        and kind == "topic"
        and key == name
        and args == {"x-queue-type": "quorum"}
        for name, exchange, kind, key, args in found["queues"]
    ), found["queues"]
    assert found["confirm_publish"] is True
    assert found["default_exchange_type"] == "topic"
    assert found["detect_quorum"] is True


def test_classic_on_rabbitmq_keeps_the_direct_exchanges_and_adds_confirms():
    found = settings_with(CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//")
    assert all(
        exchange == "" and kind == "direct" and key == name and args is None
        for name, exchange, kind, key, args in found["queues"]
    ), found["queues"]
    assert found["confirm_publish"] is True


def test_a_redis_broker_is_unaffected_by_the_rabbitmq_queue_type():
    found = settings_with(
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0", ORDERLY_RABBITMQ_QUEUE_TYPE="quorum"
    )
    assert found["queues"] == [
        [name, "", "direct", name, None] for name in ("default", "payments", "emails",
                                                      "reports", "webhooks")
    ]  # fmt: skip
    assert found["confirm_publish"] is None
    assert found["default_exchange_type"] is None


def test_check_refuses_a_quorum_queue_on_a_direct_exchange(settings):
    settings.CELERY_TASK_QUEUES = (
        Queue("default", routing_key="default"),
        Queue("payments", routing_key="payments", queue_arguments={"x-queue-type": "quorum"}),
        Queue(
            "emails",
            Exchange("emails", type="direct"),
            routing_key="emails",
            queue_arguments={"x-queue-type": "quorum"},
        ),
    )
    errors = check_rabbitmq_queues()
    assert [error.id for error in errors] == ["jobs.E003", "jobs.E003"]
    assert "Quorum queue 'payments' is bound to Celery's default exchange (direct)" in errors[0].msg
    assert "Quorum queue 'emails' is bound to the direct exchange 'emails'" in errors[1].msg
    assert "native delayed delivery needs a topic exchange" in errors[0].msg
    assert all(isinstance(error, checks.Error) for error in errors)


def test_check_accepts_a_quorum_queue_on_a_topic_default_exchange(settings):
    settings.CELERY_TASK_QUEUES = (
        Queue("payments", routing_key="payments", queue_arguments={"x-queue-type": "quorum"}),
    )
    settings.CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    assert check_rabbitmq_queues() == []


def test_check_accepts_what_the_quorum_setting_declares(settings):
    settings.CELERY_TASK_QUEUES = task_queues(settings.ORDERLY_QUEUES, "quorum")
    assert check_rabbitmq_queues() == []


def test_check_refuses_quorum_queues_without_quorum_detection(settings):
    settings.CELERY_TASK_QUEUES = task_queues(QUEUES, "quorum")
    settings.CELERY_WORKER_DETECT_QUORUM_QUEUES = False
    assert [error.id for error in check_rabbitmq_queues()] == ["jobs.E004"]


def test_check_refuses_an_unknown_queue_type_at_start_up():
    result = manage_check(
        BROKER_TAG,
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//",
        ORDERLY_RABBITMQ_QUEUE_TYPE="stream",
    )
    assert result.returncode != 0
    assert "jobs.E002" in result.stderr
    assert "ORDERLY_RABBITMQ_QUEUE_TYPE='stream'" in result.stderr


def test_a_worker_refuses_to_start_with_a_quorum_queue_on_a_direct_exchange(tmp_path):
    """The real start-up: `celery worker` with settings that declare quorum on direct."""
    (tmp_path / "quorum_on_direct.py").write_text(
        "from project.settings import *  # noqa\n"
        "from kombu import Queue\n"
        "CELERY_TASK_QUEUES = tuple(Queue(n, routing_key=n,\n"
        "    queue_arguments={'x-queue-type': 'quorum'}) for n in ORDERLY_QUEUES)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "project", "worker", "--pool", "solo"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
            "DJANGO_SETTINGS_MODULE": "quorum_on_direct",
            # Never reached: the check stops the worker before it connects.
            "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Refusing to start" in output, output[-3000:]
    # Celery has bound the queues to its default exchange by then: 'default', direct.
    assert "Quorum queue 'payments' is bound to the direct exchange 'default'" in output


def test_the_queue_of_a_delayed_message_is_its_routing_key_without_the_delay():
    delayed = ".".join("0000000000000000000000000101") + ".payments"
    assert queue_of_delivery({"routing_key": delayed}) == "payments"
    assert queue_of_delivery({"routing_key": "payments"}) == "payments"
    assert queue_of_delivery(None) == ""
