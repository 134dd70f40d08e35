"""How long a task waits after its worker is SIGKILLed, on the shipped defaults.

    uv run python bench/recovery.py --broker redis://127.0.0.1:6379/9 [--kill main|child]
    uv run python bench/recovery.py --broker amqp://guest:guest@127.0.0.1:5672//

Starts a real worker (prefork, one process) on a queue of its own, sends it
a task that records each delivery's start in Redis and then works for a
minute, and a second into the task SIGKILLs either the worker's main
process (`main`: a replacement worker is started at once, as a supervisor
would) or the pool child running the task (`child`: the main process
stays). Reports the time from the kill to the task's next start. Nothing is scaled: this is what a
deployment with the shipped settings gets. (Used for the failure table in
docs/failure-and-recovery.md; not run by CI.)
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_worker(env, queue, log):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "worker", "--queues", queue,
         "--hostname", f"recovery-{uuid.uuid4().hex[:6]}@%h", "--concurrency", "1",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--include", "bench.tasks"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def pool_children(pid: int) -> list[int]:
    """The worker's pool processes (children of its main process), from /proc (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--marks", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
                        help="Redis for the delivery marks")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--kill", choices=("main", "child"), default="main")
    args = parser.parse_args()

    env = {**os.environ, "CELERY_BROKER_URL": args.broker, "DJANGO_DEBUG": "true",
           "DJANGO_READ_DOT_ENV_FILE": "false", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.conf import settings

    from project.celery import app

    queue = f"recovery-{uuid.uuid4().hex[:8]}"
    key = f"bench:recovery:{queue}"
    marks = redis.Redis.from_url(args.marks)
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    workers = []
    try:
        with (logs / f"{queue}.log").open("wb") as log:
            workers.append(start_worker(env, queue, log))
            app.send_task("bench.mark_delivery_then_sleep", args=(key, args.marks, 60),
                          queue=queue)  # fmt: skip
            deadline = time.monotonic() + 120
            while marks.llen(key) < 1:
                assert time.monotonic() < deadline, "the first delivery never started"
                time.sleep(0.05)
            time.sleep(1)
            if args.kill == "main":
                os.kill(workers[0].pid, signal.SIGKILL)  # the main process only
                killed_at = time.time()
                workers.append(start_worker(env, queue, log))
            else:
                (child,) = pool_children(workers[0].pid)
                os.kill(child, signal.SIGKILL)
                killed_at = time.time()
            deadline = time.monotonic() + args.timeout
            while marks.llen(key) < 2:
                assert time.monotonic() < deadline, f"no redelivery within {args.timeout} s"
                time.sleep(0.2)
            again = float(marks.lindex(key, 1))
        broker = args.broker.split("://")[0]
        victim = "main process" if args.kill == "main" else "pool child"
        print(
            f"{broker}: task started again {again - killed_at:.1f} s after its worker's {victim} "
            f"was SIGKILLed (visibility timeout {settings.CELERY_VISIBILITY_TIMEOUT:g} s, "
            f"restore sweep every "
            f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['unacked_restore_interval']} s)"
        )
    finally:
        marks.delete(key)
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        # the first worker's orphaned pool child is in its process group
        for worker in workers[:1]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
