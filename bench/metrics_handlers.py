"""Microseconds the observability signal handlers add to one task, in this process.

Runs the handlers a task's life fires (publish, prerun, postrun: task
metrics, checkout-to-final, log context) for a no-op task many times and
prints the mean in µs as JSON. bench/run.py runs it with and without
PROMETHEUS_MULTIPROC_DIR, which prometheus_client reads at import.
"""

import json
import os
import sys
import time

import django


def main(count: int = 20000) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    import bench.tasks  # noqa: F401 (registers bench.noop)
    from ops import log_context, order_metrics, task_metrics
    from project.celery import app

    task = app.tasks["bench.noop"]
    task.push_request(id="bench", delivery_info={"routing_key": "default"},
                      orderly_published_at=time.time(), headers={})  # fmt: skip

    def one(index):
        task_metrics.on_publish(sender=task.name, headers={}, routing_key="default")
        task_metrics.on_prerun(task_id=str(index), task=task)
        log_context.on_prerun(task_id=str(index), task=task, args=())
        task_metrics.on_postrun(task_id=str(index), task=task, state="SUCCESS")
        order_metrics.on_postrun(task=task, args=())
        log_context.on_postrun()

    for index in range(500):  # first use of each label set creates its file entries
        one(index)
    started = time.perf_counter()
    for index in range(count):
        one(index)
    print(json.dumps({"us_per_task": (time.perf_counter() - started) / count * 1e6}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
