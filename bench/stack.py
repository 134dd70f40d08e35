"""The processes under test, started and stopped by the harness, and what they cost in CPU.

Workers run as the Procfile runs them (pool and concurrency per queue), read
from the Procfile itself so the benchmark cannot drift from `make dev`.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from .cpu import machine_busy, proc_table, tree_cpu

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Ports of the harness's own processes (--web-port; the gateway and Flower take the next two).
DEFAULT_WEB_PORT = 8100
PROCFILE_WORKER = re.compile(
    r"^worker_(?P<queue>\w+):.*?(?:--pool (?P<pool>\w+) )?--concurrency \$\{\w+:-(?P<n>\d+)\}", re.M
)


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def procfile_workers() -> dict[str, tuple[str, int]]:
    """{queue: (pool, concurrency)} as the Procfile's defaults run them."""
    text = (ROOT / "Procfile").read_text()
    workers = {
        m["queue"]: (m["pool"] or "prefork", int(m["n"])) for m in PROCFILE_WORKER.finditer(text)
    }
    if not workers:
        raise RuntimeError("no worker lines found in the Procfile")
    return workers


class Stack:
    """Named subprocesses, each in its own process group."""

    def __init__(self, env, workdir, web_port=DEFAULT_WEB_PORT):
        self.env = env
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen] = {}
        self.web_port, self.gateway_port, self.flower_port = web_port, web_port + 1, web_port + 2
        self.s3_port = web_port + 3

    def start(self, name, command, **extra_env):
        log_file = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env={**self.env, **extra_env},
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self.processes[name]

    def stop(self, *names):
        """SIGTERM each (all at once, so their shutdowns overlap), then wait; SIGKILL after 30 s."""
        stopping = [
            p for p in (self.processes.pop(n, None) for n in names) if p and p.poll() is None
        ]
        for process in stopping:
            os.killpg(process.pid, signal.SIGTERM)
        for process in stopping:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self):
        self.stop(*self.processes)

    def gunicorn(self, name, port, *, workers, threads, app="project.wsgi", ready="/healthz",
                 **extra_env):  # fmt: skip
        refuse_busy_port(port)  # else the harness would measure someone else's server
        self.start(name, [PYTHON, "-m", "gunicorn", app, "--bind",
                          f"127.0.0.1:{port}", "--workers", str(workers), "--threads",
                          str(threads)], **extra_env)  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}{ready}")

    def gateway(self, latency_ms):
        self.stop("gateway")
        # 96 threads so the stand-in is never the bottleneck; each request
        # closes its database connection, or the idle threads' connections
        # (CONN_MAX_AGE 60 s) took PostgreSQL's 100 and the shop's own tasks
        # failed with "too many clients" (a real gateway is not our database).
        # The gateway's own origin, as the Procfile runs it (sandbox.gateway_wsgi). Ready when
        # its API answers (401 without a key): it has no /healthz, and with DEBUG off its 404
        # page fails (the shop's 404 template reverses shop URLs this origin does not have).
        self.gunicorn("gateway", self.gateway_port, workers=1, threads=96,
                      app="sandbox.gateway_wsgi", ready="/sandbox/gateway/charges",
                      SANDBOX_GATEWAY_LATENCY_MS=str(latency_ms),
                      DATABASE_CONN_MAX_AGE="0")  # fmt: skip

    def s3(self, bucket):
        """An S3-protocol server (moto) for the invoices, with `bucket` made; as production
        stores them in S3. The naive variant uploads to the same bucket."""
        import boto3

        refuse_busy_port(self.s3_port)
        self.start("s3", [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)])
        wait_http(f"http://127.0.0.1:{self.s3_port}/")
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.s3_port}",
                     aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 (moto)
                     region_name="us-east-1").create_bucket(Bucket=bucket)  # fmt: skip

    def workers(self, queues=None, include="bench.tasks", **extra_env):
        """One worker per queue, with the Procfile's pool and concurrency."""
        queues = queues or procfile_workers()
        for queue, (pool, concurrency) in queues.items():
            self.start(f"worker-{queue}", [PYTHON, "-m", "celery", "-A", "project", "worker",
                       "-Q", queue, "-n", f"bench-{queue}@%h", "-P", pool, "-c", str(concurrency),
                       "--include", include, "--without-gossip", "--without-mingle",
                       "-l", "WARNING"], **extra_env)  # fmt: skip
        wait_workers(sum(name.startswith("worker-") for name in self.processes))

    def beat_and_flower(self):
        self.start("beat", [PYTHON, "-m", "celery", "-A", "project", "beat", "-l", "WARNING",
                            "--schedule", str(self.workdir / "beat-schedule")])  # fmt: skip
        self.start("flower", [PYTHON, "-m", "celery", "-A", "project", "flower",
                              "--address=127.0.0.1", f"--port={self.flower_port}"],
                   FLOWER_BASIC_AUTH="bench:bench")  # fmt: skip

    def web(self, *, workers=2, threads=4, **extra_env):
        """The shop, by default as `make dev` runs it (Procfile: 2 workers x 4 threads)."""
        self.gunicorn("web", self.web_port, workers=workers, threads=threads, **extra_env)
        self.warm_up()

    def warm_up(self, orders=4):
        """A few checkouts, so every web process has its connections and code loaded."""
        import requests

        from inventory.models import Product

        product = Product.objects.order_by("pk").first()
        url = f"http://127.0.0.1:{self.web_port}"
        for _ in range(orders):
            session = requests.Session()
            session.get(f"{url}/", timeout=30)
            form = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
            session.post(f"{url}/cart/add/", {**form, "product_id": product.pk, "quantity": 1},
                         timeout=30)  # fmt: skip
            token = session.post(
                f"http://127.0.0.1:{self.gateway_port}/sandbox/gateway/payment_methods",
                json={"card": {"number": "4242424242424242"}},
                headers={"Authorization": "Bearer pk_test_sandbox"}, timeout=30,
            ).json()["id"]  # fmt: skip
            session.post(f"{url}/checkout/", {**form, "full_name": "Warm Up", "email": "w@example.com",
                         "shipping_address": "x", "payment_method": token},
                         allow_redirects=False, timeout=30)  # fmt: skip

    def stop_workers(self):
        self.stop(*[n for n in self.processes if n.startswith("worker-")])

    def stop_background(self):
        """Workers, beat and Flower: everything but the web and gateway processes."""
        self.stop(
            *[n for n in self.processes if n.startswith("worker-") or n in ("beat", "flower")]
        )

    def kinds(self) -> dict[str, list[int]]:
        """{process kind: [pids]} of the running processes (web, worker-payments, ...)."""
        return {name: [p.pid] for name, p in self.processes.items() if p.poll() is None}


def postmaster_pid() -> int | None:
    """The PostgreSQL server's root process (a postgres whose parent is not one)."""
    import psutil

    for process in psutil.process_iter(["name", "ppid"]):
        if process.info["name"] in ("postgres", "postmaster"):
            try:
                parent = psutil.Process(process.info["ppid"]).name()
            except psutil.Error:
                parent = ""
            if parent not in ("postgres", "postmaster"):
                return process.pid
    return None


def redis_pid(port: int) -> int | None:
    """The redis-server listening on `port` (the bench's own; others' are not counted)."""
    import psutil

    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "redis-server" and any(
            part.endswith(f":{port}") or part == str(port) for part in process.info["cmdline"] or []
        ):
            return process.pid
    return None


class CpuMeter:
    """CPU seconds used by each process kind between start() and stop().

    Every kind is a whole process tree (tree_cpu): the harness's processes
    (web, each worker, beat, Flower, the gateway, S3), the PostgreSQL server
    (the postmaster's tree: every database on the server, so the bench wants
    a quiet machine), the bench's own redis-server (by its port) and the load
    generator (Locust's process, passed as `extra`). The whole machine's busy
    time (/proc/stat) is kept beside them, as a cross-check.
    """

    def __init__(self, stack: Stack, redis_port: int | None = None):
        self.stack = stack
        self.postgres = postmaster_pid()
        self.redis = redis_pid(redis_port) if redis_port else None

    def _sample(self):
        table = proc_table()
        trees = {name: pids[0] for name, pids in self.stack.kinds().items()}
        trees.update(self.extra)
        if self.postgres:
            trees["postgres"] = self.postgres
        if self.redis:
            trees["redis"] = self.redis
        return {name: tree_cpu(pid, table) for name, pid in trees.items()}

    def start(self, extra: dict[str, int] | None = None):
        """Begin the window; `extra` names more process trees to measure ({"locust": pid})."""
        self.extra = extra or {}
        self._started = time.monotonic()
        self._machine = machine_busy()
        self._first = self._sample()

    def stop(self) -> dict:
        """{"seconds", "cpu_s": {kind: CPU seconds}, "cores_used" (all kinds but the load
        generator), "machine_cores" (/proc/stat), "share": {kind: fraction}}."""
        last = self._sample()
        seconds = time.monotonic() - self._started
        machine = machine_busy() - self._machine
        used = {k: max(last.get(k, 0.0) - v, 0.0) for k, v in sorted(self._first.items())}
        stack = {k: v for k, v in used.items() if k not in LOAD_GENERATOR}
        total = sum(used.values()) or 1.0
        return {
            "seconds": seconds,
            "cpu_s": used,
            "cores_used": sum(stack.values()) / seconds,
            "machine_cores": machine / seconds,
            "share": {kind: value / total for kind, value in used.items()},
        }


# Kinds that are the load, not the shop: reported apart from the stack's CPU.
LOAD_GENERATOR = ("locust",)


def refuse_busy_port(port):
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is taken by another process; pass --web-port")


def wait_http(url, timeout=60):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def wait_workers(count, timeout=90):
    from project.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=0.5) or []) >= count:
            return
    raise RuntimeError(f"{count} workers did not answer")


def django_setup(env):
    os.environ.update(env)
    import django

    django.setup()


def create_database(url):
    """CREATE DATABASE for the bench, if it does not exist (via the server's `postgres` db)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def prepare_database(stock):
    from django.core.management import call_command
    from django.db import connection

    log("migrating and seeding the bench database")
    with connection.cursor() as cursor:  # start from an empty schema every time
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stock=stock, verbosity=0)
    call_command("setup_periodic_tasks", verbosity=0)
    from inventory.models import Product

    return list(Product.objects.values_list("pk", flat=True))


def reset_broker():
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
