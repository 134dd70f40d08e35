"""Classic against quorum queues on one RabbitMQ node: what ORDERLY_RABBITMQ_QUEUE_TYPE costs.

Starts a RabbitMQ node of its own (tests/rabbitmq_cluster.py, nothing of the
machine's touched), declares one queue per variant exactly as Orderly does
(jobs.rabbitmq.task_queues) and, through kombu as Celery uses it:

- publishes N persistent messages of a Celery task's size, one at a time,
  with publisher confirms (as Orderly's settings do on RabbitMQ) and, for
  classic, without them too;
- consumes and acknowledges them one by one with a prefetch of 1 (a worker's
  per-consumer prefetch with CELERY_WORKER_PREFETCH_MULTIPLIER=1);
- sends one message at a time and waits for it (publish to delivery), R times.

`uv run --frozen python bench/rabbitmq_queue_types.py [--messages 2000] [--runs 3]`.
Not run by CI (bench/run.py does not run it); figures: bench/results/rabbitmq-queue-types.txt.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kombu import Connection, Consumer, Producer  # noqa: E402

from jobs.rabbitmq import task_queues  # noqa: E402
from tests.rabbitmq_cluster import RabbitCluster  # noqa: E402

# About a charge_payment message: Celery's protocol 2 body and headers.
BODY = {"args": ["9f1c4e1e-6f0e-4c55-9d64-2b1f9a1c0b7e"], "kwargs": {}, "pad": "x" * 900}


def one_run(url: str, queue_type: str, confirm: bool, messages: int, trips: int, tag: str):
    name = f"bench_{queue_type}_{'confirm' if confirm else 'noconfirm'}_{tag}"
    (queue,) = task_queues([name], queue_type)
    options = {"confirm_publish": True} if confirm else {}
    with Connection(url, transport_options=options) as connection:
        channel = connection.channel()
        queue = queue.bind(channel)
        queue.declare()
        producer = Producer(channel, exchange=queue.exchange, routing_key=queue.routing_key)

        started = time.perf_counter()
        for _ in range(messages):
            producer.publish(BODY, serializer="json", delivery_mode=2)
        publish_rate = messages / (time.perf_counter() - started)

        consumed = 0

        def on_message(body, message):
            nonlocal consumed
            message.ack()
            consumed += 1

        consumer_channel = connection.channel()
        consumer_channel.basic_qos(0, 1, False)
        with Consumer(consumer_channel, [queue], callbacks=[on_message], accept=["json"]):
            started = time.perf_counter()
            while consumed < messages:
                connection.drain_events(timeout=10)
            consume_rate = messages / (time.perf_counter() - started)

            latencies = []
            for _ in range(trips):
                before = consumed
                sent = time.perf_counter()
                producer.publish(BODY, serializer="json", delivery_mode=2)
                while consumed == before:
                    connection.drain_events(timeout=10)
                latencies.append((time.perf_counter() - sent) * 1000)
        queue.delete()
    latencies.sort()
    return {
        "publish_per_s": publish_rate,
        "consume_per_s": consume_rate,
        "latency_p50_ms": statistics.median(latencies),
        "latency_p95_ms": latencies[int(0.95 * len(latencies)) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--trips", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    variants = [("classic", False), ("classic", True), ("quorum", True)]
    results: dict[str, list[dict]] = {f"{kind} {'confirms' if c else 'no confirms'}": []
                                      for kind, c in variants}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="orderly-bench-rabbitmq-") as directory:
        node = RabbitCluster(Path(directory), size=1).start()
        try:
            for run in range(args.runs):
                for kind, confirm in variants:  # interleaved, so drift hits every variant
                    label = f"{kind} {'confirms' if confirm else 'no confirms'}"
                    url = node.nodes[0].url
                    row = one_run(url, kind, confirm, args.messages, args.trips, str(run))
                    results[label].append(row)
        finally:
            node.stop()
    summary = {
        label: {
            key: round(statistics.median(run[key] for run in runs), 1)
            for key in ("publish_per_s", "consume_per_s", "latency_p50_ms", "latency_p95_ms")
        }
        for label, runs in results.items()
    }
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<22} {'publish/s':>10} {'consume/s':>10} {'p50 ms':>8} {'p95 ms':>8}")
    for label, row in summary.items():
        print(f"{label:<22} {row['publish_per_s']:>10} {row['consume_per_s']:>10} "
              f"{row['latency_p50_ms']:>8} {row['latency_p95_ms']:>8}")  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
