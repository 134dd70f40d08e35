"""JSON logs from a real worker: each task's lines name the task, queue, order and trace.

The worker runs with ORDERLY_LOG_FORMAT=json and OpenTelemetry exporting
over OTLP/HTTP to a local receiver, so the trace ids in the log lines are
real, and the receiver shows the export itself works.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.urls import reverse

from orders.models import Order
from storefront.progress import order_progress
from tests.factories import ProductFactory
from tests.helpers import checkout_form, wait_for
from tests.processes import WorkerProcess

# Starts a real worker process (not for `make test-fast`).
pytestmark = pytest.mark.worker


class OtlpReceiver(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        OtlpReceiver.received.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def otlp_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OtlpReceiver)
    OtlpReceiver.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def json_worker(worker_env, private_redis, otlp_endpoint, gateway, tmp_path):
    env = {
        **worker_env,
        "CELERY_BROKER_URL": private_redis.url,
        "ORDERLY_LOCK_REDIS_URL": private_redis.url,
        "ORDERLY_LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    worker = WorkerProcess(env=env, log_path=tmp_path / "worker.log", mail_dir=tmp_path)
    yield worker.start()
    worker.stop()


def json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_worker_log_lines_carry_task_queue_order_and_trace(client, json_worker):
    product = ProductFactory(stock=5)
    client.post(reverse("orders:cart_add"), {"product_id": product.pk, "quantity": 1})
    response = client.post(reverse("orders:checkout"), checkout_form())
    order = Order.objects.get(public_id=response.url.split("/")[-2])
    wait_for(lambda: order_progress(order)["final"], timeout=40, what="the order final",
             diagnostics=json_worker.log_tail)  # fmt: skip

    def line_of(task_name):
        return next(
            (line for line in json_lines(json_worker.log_path)
             if line.get("task_name") == task_name and "succeeded" in line["message"]),
            None,
        )  # fmt: skip

    charge = wait_for(lambda: line_of("orders.charge_payment"), timeout=10,
                      what="the charge's log line", diagnostics=json_worker.log_tail)  # fmt: skip
    assert charge["queue"] == "payments"
    assert charge["reference"] == f"order:{order.public_id}"
    assert charge["task_id"] and charge["task_id"] in charge["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", charge["trace_id"]), charge
    invoice = wait_for(lambda: line_of("reports.generate_invoice_pdf"), timeout=10,
                       what="the invoice's success line")  # fmt: skip
    assert invoice["queue"] == "reports"
    assert invoice["reference"] == f"order:{order.public_id}"
    # The worker process has no traceparent from this (untraced) test process,
    # so each task starts its own trace; both were exported over OTLP.
    wait_for(lambda: "/v1/traces" in OtlpReceiver.received, timeout=15,
             what="spans exported over OTLP/HTTP")  # fmt: skip
    outside_tasks = [line for line in json_lines(json_worker.log_path) if not line["task_id"]]
    assert outside_tasks and all(line["reference"] == "" for line in outside_tasks)
