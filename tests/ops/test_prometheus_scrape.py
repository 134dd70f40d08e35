"""A real Prometheus scrapes a running stack: gunicorn (2 processes), a real worker, Redis.

The stack runs on a Redis of its own, so the session's worker does not take
its messages. Orders are placed over HTTP against gunicorn while no worker
runs (the queue fills), then a worker starts and drains it, and one task
fails for good. Every number is read back through Prometheus's HTTP API,
after Prometheus scraped /metrics with the bearer token, with the alert
rules loaded.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from django.core.management import call_command

from jobs.schedules import SCHEDULES
from orders.models import Order
from project.celery import app as celery_app
from storefront.progress import order_progress
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for
from tests.processes import ROOT, WorkerProcess, free_port

PROMETHEUS = shutil.which("prometheus")
pytestmark = [
    pytest.mark.worker,  # starts real worker processes (not for `make test-fast`)
    pytest.mark.skipif(
        PROMETHEUS is None, reason="needs Debian's prometheus package (scripts/bootstrap.sh)"
    ),
]
TOKEN = "scrape-test-token"
ORDERS = 3


class Process:
    """A background process with its output in a log file; killed at the end."""

    def __init__(self, argv, *, env=None, log_path: Path):
        self.log_path = log_path
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log_path.open("ab"), stderr=subprocess.STDOUT
        )

    def log_tail(self, lines=60) -> str:
        text = self.log_path.read_text(errors="replace")
        return f"--- {self.log_path.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:  # not listening yet, or still booting
        return False


class Stack:
    def __init__(self, tmp_path, worker_env, redis_url):
        self.tmp_path = tmp_path
        self.metrics_dir = tmp_path / "metrics"
        self.metrics_dir.mkdir()
        self.env = {
            **worker_env,
            "CELERY_BROKER_URL": redis_url,
            "ORDERLY_LOCK_REDIS_URL": redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            "ORDERLY_METRICS_TOKEN": TOKEN,
            "ORDERLY_READINESS_TIMEOUT": "0.5",
        }
        self.processes: list = []
        self.web_url = ""
        self.prometheus_url = ""

    def start_web(self):
        port = free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        web = Process(
            [sys.executable, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "2"],
            env=self.env, log_path=self.tmp_path / "web.log",
        )  # fmt: skip
        self.processes.append(web)
        wait_for(lambda: answers(f"{self.web_url}/healthz"), timeout=30, what="gunicorn",
                 diagnostics=web.log_tail)  # fmt: skip

    def start_prometheus(self):
        port = free_port()
        self.prometheus_url = f"http://127.0.0.1:{port}"
        token_file = self.tmp_path / "token"
        token_file.write_text(TOKEN)
        config = {
            # /metrics asks the workers which queues they consume (0.5 s here).
            "global": {
                "scrape_interval": "2s",
                "scrape_timeout": "2s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(ROOT / "ops" / "prometheus" / "rules.yml")],
            "scrape_configs": [
                {
                    "job_name": "orderly",
                    "metrics_path": "/metrics",
                    "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
                    "static_configs": [{"targets": [self.web_url.removeprefix("http://")]}],
                }
            ],
        }
        config_path = self.tmp_path / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        prometheus = Process(
            [PROMETHEUS, f"--config.file={config_path}",
             f"--storage.tsdb.path={self.tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            log_path=self.tmp_path / "prometheus.log",
        )  # fmt: skip
        self.processes.append(prometheus)
        wait_for(lambda: answers(f"{self.prometheus_url}/-/ready"), timeout=30,
                 what="prometheus", diagnostics=prometheus.log_tail)  # fmt: skip

    def start_worker(self) -> WorkerProcess:
        mail = self.tmp_path / "mail"
        mail.mkdir(exist_ok=True)
        worker = WorkerProcess(
            env={**self.env, "EMAIL_FILE_PATH": str(mail)},
            log_path=self.tmp_path / "worker.log",
            mail_dir=mail,
        )
        self.processes.append(worker)
        return worker.start()

    def logs(self) -> str:
        targets = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=5).json()
        health = [(t["health"], t["lastError"]) for t in targets["data"]["activeTargets"]]
        return f"scrape: {health}\n" + "\n".join(p.log_tail() for p in self.processes)

    def query(self, promql: str) -> dict[tuple, float]:
        """An instant query: label set (without job/instance) -> value."""
        answer = requests.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": promql}, timeout=5
        ).json()
        assert answer["status"] == "success", answer
        return {
            tuple(sorted((k, v) for k, v in item["metric"].items()
                         if k not in ("job", "instance", "__name__"))): float(item["value"][1])
            for item in answer["data"]["result"]
        }  # fmt: skip

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return sum(result.values()) if result else None

    def wait_for_value(self, promql: str, condition, *, what: str, timeout=60) -> float:
        return wait_for(
            lambda: (v := self.value(promql)) is not None and condition(v) and (v,),
            timeout=timeout,
            what=f"{what} ({promql})",
            diagnostics=lambda: f"last value: {self.query(promql)}\n{self.logs()}",
        )[0]


def place_order(web_url: str, product) -> str:
    """Add to cart and check out over HTTP, as a browser does; returns the order's UUID."""
    session = requests.Session()
    session.get(f"{web_url}/", timeout=10)
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": web_url}
    session.post(f"{web_url}/cart/add/", data={"product_id": product.pk, "quantity": 1},
                 headers=headers, timeout=10)  # fmt: skip
    response = session.post(f"{web_url}/checkout/", data=checkout_form(), headers=headers,
                            allow_redirects=False, timeout=10)  # fmt: skip
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"].rstrip("/").split("/")[-1]


@pytest.fixture
def stack(worker_env, private_redis, gateway, tmp_path):
    stack = Stack(tmp_path, worker_env, private_redis.url)
    yield stack
    for process in reversed(stack.processes):
        process.stop()


def test_prometheus_scrapes_queue_task_dead_letter_outbox_schedule_and_order_series(stack):
    call_command("setup_periodic_tasks", verbosity=0)
    product = ProductFactory(stock=50)
    stack.start_web()
    stack.start_prometheus()
    assert requests.get(f"{stack.web_url}/metrics", timeout=10).status_code == 401

    # No worker yet: the charges wait in the payments queue.
    order_ids = [place_order(stack.web_url, product) for _ in range(ORDERS)]
    stack.wait_for_value('orderly_queue_depth{queue="payments"}', lambda v: v == ORDERS,
                         what="the payments queue holding every charge")  # fmt: skip
    stack.wait_for_value('orderly_queue_oldest_message_age_seconds{queue="payments"}',
                         lambda v: v > 0, what="the oldest charge's age")  # fmt: skip
    assert stack.value('orderly_queue_consumers{queue="payments"}') == 0
    assert stack.value("orderly_broker_up") == 1
    # Two gunicorn processes published; their counters add up.
    stack.wait_for_value('orderly_task_sent_total{task="orders.charge_payment"}',
                         lambda v: v == ORDERS, what="every charge counted as sent")  # fmt: skip
    # The web's own metrics: each checkout under its view, never under its path.
    checkouts = 'orderly_http_request_duration_seconds_count{view="orders:checkout", method="POST"}'
    stack.wait_for_value(checkouts, lambda v: v == ORDERS, what="every checkout counted")
    requests_by_view = stack.query("orderly_http_request_duration_seconds_count")
    assert not [labels for labels in requests_by_view if any(i in str(labels) for i in order_ids)]

    worker = stack.start_worker()
    orders = Order.objects.filter(public_id__in=order_ids)
    wait_for(lambda: all(order_progress(order)["final"] for order in orders), timeout=60,
             what="every order's steps to be final", diagnostics=stack.logs)  # fmt: skip
    # One task fails for good: a confirmation for an order that does not exist.
    celery_app.send_task("notifications.send_order_confirmation", args=[987654321])

    charge = '{task="orders.charge_payment", queue="payments"}'
    confirmation = '{task="notifications.send_order_confirmation", queue="emails"}'
    stack.wait_for_value(f"orderly_task_failed_total{confirmation}", lambda v: v == 1,
                         what="the failed confirmation")  # fmt: skip
    stack.wait_for_value(f"orderly_task_succeeded_total{charge}", lambda v: v == ORDERS,
                         what="every charge succeeded")  # fmt: skip
    stack.wait_for_value("orderly_checkout_to_final_seconds_count", lambda v: v == ORDERS,
                         what="checkout-to-final observed once per order")  # fmt: skip
    stack.wait_for_value('orderly_queue_depth{queue="payments"}', lambda v: v == 0,
                         what="the payments queue drained")  # fmt: skip
    stack.wait_for_value("orderly_dead_letters_open", lambda v: v == 1,
                         what="the open dead letter")  # fmt: skip

    assert stack.value(f"orderly_task_started_total{charge}") == ORDERS
    assert stack.value(f"orderly_task_runtime_seconds_count{charge}") == ORDERS
    assert stack.value(f"orderly_task_queue_wait_seconds_count{charge}") == ORDERS
    # Each charge waited in the queue while no worker ran: not in the first bucket.
    assert stack.value(f'orderly_task_queue_wait_seconds_bucket{{le="0.005", {charge[1:]}') == 0
    assert stack.value(f"orderly_task_dead_lettered_total{confirmation}") == 1
    assert stack.value(f"orderly_task_retried_total{confirmation}") in (None, 0)
    assert stack.query("orderly_dead_letters_open") == {
        (("exception", "orders.models.Order.DoesNotExist"),
         ("task", "notifications.send_order_confirmation")): 1.0
    }  # fmt: skip
    # Stage 2 was published by the worker, per order: e-mail and invoice.
    assert stack.value(f"orderly_task_sent_total{confirmation}") == ORDERS
    invoice = '{task="reports.generate_invoice_pdf", queue="reports"}'
    assert stack.value(f"orderly_task_succeeded_total{invoice}") == ORDERS
    total = stack.value("orderly_checkout_to_final_seconds_sum")
    assert 0 < total / ORDERS < 120
    # The workers' last answer, asked again in the background once 5 s old (ops.worker_facts).
    consumers = "orderly_queue_consumers"
    wait_for(lambda: set(stack.query(consumers).values()) == {1.0}, timeout=30,
             what="one consumer per queue", diagnostics=lambda: stack.query(consumers))  # fmt: skip
    assert stack.value("orderly_outbox_unsent") == 0
    assert stack.value("orderly_outbox_oldest_unsent_age_seconds") == 0
    schedules = stack.query("orderly_periodic_lateness_seconds")
    assert {dict(labels)["schedule"] for labels in schedules} == {s.name for s in SCHEDULES}
    assert len(stack.query("orderly_periodic_last_run_timestamp_seconds")) == len(SCHEDULES)

    # The alert rules loaded and were evaluated against these series.
    def rules():
        answer = requests.get(f"{stack.prometheus_url}/api/v1/rules", timeout=5).json()
        return [rule for group in answer["data"]["groups"] for rule in group["rules"]]

    wait_for(lambda: all(rule["health"] == "ok" for rule in rules()), timeout=20,
             what="every alert rule evaluated", diagnostics=lambda: str(rules()))  # fmt: skip
    assert len(rules()) == 9
    worker.stop()
