"""The processes under test, started and stopped by the harness, and what they cost in CPU.

Workers run as the Procfile runs them (pool and concurrency per queue), read
from the Procfile itself so the benchmark cannot drift from `make dev`.
"""

import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

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

    def gunicorn(self, name, port, *, workers, threads, **extra_env):
        refuse_busy_port(port)  # else the harness would measure someone else's server
        self.start(name, [PYTHON, "-m", "gunicorn", "project.wsgi", "--bind",
                          f"127.0.0.1:{port}", "--workers", str(workers), "--threads",
                          str(threads)], **extra_env)  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/healthz")

    def gateway(self, latency_ms):
        self.stop("gateway")
        # 96 threads so the stand-in is never the bottleneck; each request
        # closes its database connection, or the idle threads' connections
        # (CONN_MAX_AGE 60 s) took PostgreSQL's 100 and the shop's own tasks
        # failed with "too many clients" (a real gateway is not our database).
        self.gunicorn("gateway", self.gateway_port, workers=1, threads=96,
                      SANDBOX_GATEWAY_LATENCY_MS=str(latency_ms),
                      DATABASE_CONN_MAX_AGE="0")  # fmt: skip

    def workers(self, queues=None, **extra_env):
        """One worker per queue, with the Procfile's pool and concurrency."""
        queues = queues or procfile_workers()
        for queue, (pool, concurrency) in queues.items():
            self.start(f"worker-{queue}", [PYTHON, "-m", "celery", "-A", "project", "worker",
                       "-Q", queue, "-n", f"bench-{queue}@%h", "-P", pool, "-c", str(concurrency),
                       "--include", "bench.tasks", "--without-gossip", "--without-mingle",
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


def _tree_cpu(pid) -> float:
    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _named_cpu(names) -> float:
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] in names and process.info["cpu_times"]:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


class CpuMeter:
    """CPU seconds used by each process kind between start() and stop().

    The harness's processes are measured as process trees; PostgreSQL and
    Redis as every process of that name on the machine (the bench assumes a
    quiet machine), and the load generator (Locust, a child process the
    caller waits for) from the CPU of reaped children.
    """

    def __init__(self, stack: Stack):
        self.stack = stack

    def _sample(self, extra):
        sample = {name: _tree_cpu(pids[0]) for name, pids in self.stack.kinds().items()}
        sample.update({name: _tree_cpu(pid) for name, pid in extra.items()})
        sample["postgres"] = _named_cpu({"postgres", "postmaster"})
        sample["redis"] = _named_cpu({"redis-server"})
        return sample

    @staticmethod
    def _children():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self):
        self._started = time.monotonic()
        self._first = self._sample({})
        self._first["locust"] = self._children()

    def stop(self) -> dict:
        """{"cores_used": total cores busy, "share": {kind: fraction of the CPU used}}."""
        last = self._sample({})
        last["locust"] = self._children()
        seconds = time.monotonic() - self._started
        used = {k: max(last.get(k, 0) - v, 0.0) for k, v in self._first.items()}
        total = sum(used.values()) or 1.0
        return {
            "cores_used": total / seconds,
            "share": {kind: value / total for kind, value in sorted(used.items())},
        }


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
