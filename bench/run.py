"""Orderly's benchmarks: `make bench` (not run by CI).

Starts its own stack on PostgreSQL and Redis: gunicorn for the shop, a
separate gunicorn for the sandbox gateway (with a latency, default 300 ms),
and Celery workers. Locust, in a separate process, drives checkouts. Each
figure is the median of --runs runs, with min and max. Writes
bench/results/latest.json, bench/results/checkout.png and bench/RESULTS.md,
and copies the table into the README between the bench markers.
"""

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
WEB_PORT, GATEWAY_PORT = 8100, 8101
# The Procfile defaults.
QUEUE_CONCURRENCY = {"default": 1, "payments": 4, "emails": 2, "reports": 1, "webhooks": 2}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


class Stack:
    """The processes under test, each started and stopped by the harness."""

    def __init__(self, env, workdir):
        self.env = env
        self.workdir = workdir
        self.processes = {}

    def start(self, name, command, **extra_env):
        log_file = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env={**self.env, **extra_env},
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self, name):
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self):
        for name in list(self.processes):
            self.stop(name)

    def gunicorn(self, name, port, *, workers, threads, **extra_env):
        self.start(name, [PYTHON, "-m", "gunicorn", "project.wsgi", "--bind",
                          f"127.0.0.1:{port}", "--workers", str(workers), "--threads",
                          str(threads)], **extra_env)  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/")

    def workers(self, queues=QUEUE_CONCURRENCY, **extra_env):
        for queue, concurrency in queues.items():
            self.start(f"worker-{queue}", [PYTHON, "-m", "celery", "-A", "project", "worker",
                       "-Q", queue, "-n", f"bench-{queue}@%h", "-c", str(concurrency),
                       "--include", "bench.tasks", "--without-gossip", "--without-mingle",
                       "-l", "WARNING"], **extra_env)  # fmt: skip
        wait_workers(len(queues))

    def stop_workers(self):
        for name in [n for n in self.processes if n.startswith("worker-")]:
            self.stop(name)


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


def wait_workers(count, timeout=60):
    from project.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=0.5) or []) >= count:
            return
    raise RuntimeError(f"{count} workers did not answer")


def django_setup(env):
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare_database(env, stock):
    from django.core.management import call_command
    from django.db import connection

    log("migrating and seeding the bench database")
    with connection.cursor() as cursor:  # start from an empty schema every time
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stock=stock, verbosity=0)
    from inventory.models import Product

    return list(Product.objects.values_list("pk", flat=True))


def reset_broker():
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def run_locust(env, product_ids, *, users, seconds, rate=None):
    """Run locust headless; return the checkout row of its CSV stats."""
    prefix = Path(tempfile.mkdtemp()) / "stats"
    command = [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
               "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
               "--host", f"http://127.0.0.1:{WEB_PORT}", "--csv", str(prefix),
               "--only-summary", "--loglevel", "ERROR"]  # fmt: skip
    extra = {"BENCH_PRODUCT_IDS": ",".join(map(str, product_ids))}
    if rate:
        extra["BENCH_RATE_PER_USER"] = str(rate / users)
    with open(f"{prefix}.log", "w") as output:
        subprocess.run(command, cwd=ROOT, env={**env, **extra}, check=False,
                       stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    with open(f"{prefix}_stats.csv") as stats:
        row = next((r for r in csv.DictReader(stats) if r["Name"] == "checkout"), None)
    if row is None:
        raise RuntimeError(f"locust made no checkout; see {prefix}.log")
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
    }


def checkout_latency(stack, env, product_ids, args):
    """Orderly vs Inline vs Floor at each concurrency; workers stopped (messages wait)."""
    results = {}
    for variant in ("orderly", "floor", "inline"):
        stack.gunicorn("web", WEB_PORT, workers=2, threads=8, ORDERLY_BENCH_CHECKOUT_MODE=variant)
        for users in args.concurrency:
            runs = []
            for attempt in range(args.runs):
                log(f"checkout {variant} x{users} run {attempt + 1}/{args.runs}")
                runs.append(run_locust(env, product_ids, users=users, seconds=args.duration))
                reset_broker()
            results[f"{variant}@{users}"] = {
                key: spread([run[key] for run in runs]) for key in runs[0]
            }
        stack.stop("web")
    return results


def publish_cost(args):
    """Per order: place_order with vs without the outbox+publish; bare apply_async; LPUSH."""
    import redis
    from django.conf import settings

    from bench.tasks import noop
    from inventory.models import Product
    from jobs.services import publishing_disabled
    from orders import services

    product = Product.objects.order_by("pk").first()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def per_call_ms(function, count):
        started = time.perf_counter()
        for _ in range(count):
            function()
        return (time.perf_counter() - started) * 1000 / count

    def order(publish):
        with nullcontext() if publish else publishing_disabled():
            services.place_order(quantities={product.pk: 1}, email="b@example.com",
                                 full_name="Bench", shipping_address="x",
                                 card_number="4242424242424242")  # fmt: skip

    runs = {"place_order_ms": [], "place_order_no_publish_ms": [], "apply_async_ms": [],
            "lpush_ms": []}  # fmt: skip
    for _ in range(args.runs):
        runs["place_order_ms"].append(per_call_ms(lambda: order(True), 200))
        runs["place_order_no_publish_ms"].append(per_call_ms(lambda: order(False), 200))
        runs["apply_async_ms"].append(per_call_ms(lambda: noop.apply_async(queue="bench"), 2000))
        runs["lpush_ms"].append(per_call_ms(lambda: client.lpush("bench-lpush", "x"), 5000))
        reset_broker()
    result = {key: spread(values) for key, values in runs.items()}
    result["publish_per_order_ms"] = spread([
        a - b for a, b in zip(runs["place_order_ms"], runs["place_order_no_publish_ms"], strict=True)
    ])  # fmt: skip
    return result


def worker_throughput(stack, args, count=4000):
    """Tasks/s draining `count` no-ops with -c 2: through the base task vs a bare task."""
    import redis
    from django.conf import settings

    from bench.tasks import bare_noop, noop

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    results = {}
    for task in (noop, bare_noop):
        runs = []
        for attempt in range(args.runs):
            log(f"throughput {task.name} run {attempt + 1}/{args.runs}")
            for _ in range(count):
                task.apply_async(queue="bench")
            stack.start("worker-bench", [PYTHON, "-m", "celery", "-A", "project", "worker",
                        "-Q", "bench", "-c", "2", "--include", "bench.tasks",
                        "--without-gossip", "--without-mingle", "-l", "WARNING"])  # fmt: skip
            while client.llen("bench") == count:  # the worker has started consuming
                time.sleep(0.005)
            started = time.perf_counter()
            while client.llen("bench"):
                time.sleep(0.005)
            runs.append(count / (time.perf_counter() - started))
            stack.stop("worker-bench")
            reset_broker()
        results[task.name] = spread(runs)
    results["base_over_bare"] = (
        results["bench.noop"]["median"] / results["bench.bare_noop"]["median"]
    )
    return results


def pipeline_times(since):
    """Seconds from order creation to each step's completion, for orders since `since`."""
    from notifications.models import EmailLog
    from orders.models import Order
    from reports.models import Invoice

    totals, payments = [], []
    for order in Order.objects.filter(created_at__gte=since).select_related("payment"):
        email = EmailLog.objects.filter(order=order).values_list("sent_at", flat=True).first()
        invoice = Invoice.objects.filter(order=order).values_list("created_at", flat=True).first()
        settled = order.payment.settled_at
        if settled:
            payments.append((settled - order.created_at).total_seconds())
        if email and invoice and settled:
            totals.append((max(settled, email, invoice) - order.created_at).total_seconds())
    return totals, payments


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def drain(since, expected, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        totals, _ = pipeline_times(since)
        if len(totals) >= expected:
            return
        time.sleep(1)


def end_to_end(stack, env, product_ids, args):
    """Checkout to every step final, at a sustained rate, with all workers running."""
    from django.utils import timezone

    from orders.models import Order

    stack.gunicorn("web", WEB_PORT, workers=2, threads=8)
    stack.workers()
    runs = []
    for attempt in range(args.runs):
        log(f"end-to-end at {args.rate}/s run {attempt + 1}/{args.runs}")
        since = timezone.now()
        load = run_locust(env, product_ids, users=10, seconds=args.duration, rate=args.rate)
        drain(since, Order.objects.filter(created_at__gte=since).count())
        totals, _ = pipeline_times(since)
        runs.append({"orders": len(totals), "rate": load["rps"],
                     "p50_s": percentile(totals, 0.5), "p95_s": percentile(totals, 0.95)})  # fmt: skip
    return {key: spread([run[key] for run in runs]) for key in runs[0]}


def queue_isolation(stack, env, product_ids, args, backlog=10_000):
    """Payment p95 (order created -> charge settled) with an idle vs a 10,000-deep emails queue."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from bench.tasks import noop

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    results = {}
    for label in ("idle", "backlog"):
        runs = []
        for attempt in range(args.runs):
            log(f"queue isolation ({label}) run {attempt + 1}/{args.runs}")
            if label == "backlog":
                stack.stop_workers()
                for _ in range(backlog):
                    noop.apply_async(queue="emails")
                stack.workers()
            depth = client.llen("emails")
            since = timezone.now()
            run_locust(env, product_ids, users=5, seconds=args.duration, rate=5)
            time.sleep(3)
            _, payments = pipeline_times(since)
            runs.append(
                {"payment_p95_s": percentile(payments, 0.95), "emails_depth_at_start": depth}
            )
            reset_broker()
        results[label] = {key: spread([run[key] for run in runs]) for key in runs[0]}
    idle = results["idle"]["payment_p95_s"]["median"]
    results["backlog_over_idle"] = results["backlog"]["payment_p95_s"]["median"] / idle
    stack.stop_workers()
    stack.stop("web")
    return results


def invoice_render(args, count=200):
    """Invoices/s through the project's renderer vs a minimal reportlab page."""
    from io import BytesIO

    from reportlab.pdfgen import canvas

    from orders.models import Order
    from reports.invoice_pdf import render_invoice

    order = Order.objects.prefetch_related("items").select_related("payment").first()

    def minimal():
        page = canvas.Canvas(BytesIO())
        page.drawString(72, 720, "Invoice")
        page.save()

    results = {}
    for name, function in (("orderly", lambda: render_invoice(order)), ("minimal", minimal)):
        runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            for _ in range(count):
                function()
            runs.append(count / (time.perf_counter() - started))
        results[name] = spread(runs)
    return results


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def cell(stat, digits=1):
    if not stat:
        return "–"
    return f"{fmt(stat['median'], digits)} ({fmt(stat['min'], digits)}–{fmt(stat['max'], digits)})"


def report(results, meta):
    """bench/RESULTS.md: every figure as median (min–max) of the runs."""
    checkout = results["checkout"]
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; {meta['runs']} runs of "
        f"{meta['duration']} s each, median (min–max). Gateway latency "
        f"{meta['gateway_latency_ms']} ms.",
        "",
        "**Checkout** (POST /checkout/; workers stopped so only the request is measured)",
        "",
        "| variant | users | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in checkout.items():
        variant, users = key.split("@")
        lines.append(f"| {variant} | {users} | {cell(row['rps'])} | {cell(row['p50_ms'])} | "
                     f"{cell(row['p95_ms'])} | {cell(row['p99_ms'])} |")  # fmt: skip
    ratios = results["ratios"]
    publish = results["publish"]
    e2e = results["end_to_end"]
    isolation = results["queue_isolation"]
    throughput = results["worker_throughput"]
    render = results["invoice_render"]
    lines += [
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| Orderly p95 / Floor p95 at 8 users | {fmt(ratios['orderly_over_floor_p95_at_8'], 2)} | ≤ 1.25 |",
        f"| Orderly / Inline throughput at 8 users | {fmt(ratios['orderly_over_inline_rps_at_8'], 1)}× | ≥ 20× |",
        f"| base task / bare task no-op throughput (-c 2) | {fmt(throughput['base_over_bare'], 2)} | ≥ 0.8 |",
        f"| end-to-end p95 at {meta['rate']}/s | {cell(e2e['p95_s'], 2)} s | ≤ 2 s |",
        f"| payment p95 with 10,000 queued emails / idle | {fmt(isolation['backlog_over_idle'], 2)} | ≤ 1.2 |",
        "",
        "| publish cost | ms |",
        "|---|---|",
        f"| place_order with outbox + publish | {cell(publish['place_order_ms'], 2)} |",
        f"| place_order without | {cell(publish['place_order_no_publish_ms'], 2)} |",
        f"| → publishing, per order | {cell(publish['publish_per_order_ms'], 2)} |",
        f"| bare `apply_async` of a no-op | {cell(publish['apply_async_ms'], 3)} |",
        f"| bare Redis `LPUSH` | {cell(publish['lpush_ms'], 3)} |",
        "",
        "| other | result |",
        "|---|---|",
        f"| no-op tasks/s through the base task | {cell(throughput['bench.noop'], 0)} |",
        f"| no-op tasks/s, bare Celery task | {cell(throughput['bench.bare_noop'], 0)} |",
        f"| end-to-end p50 / p95 at {meta['rate']}/s (s) | {cell(e2e['p50_s'], 2)} / {cell(e2e['p95_s'], 2)} |",
        f"| payment p95, idle emails queue (s) | {cell(isolation['idle']['payment_p95_s'], 2)} |",
        f"| payment p95, emails backlog (s) | {cell(isolation['backlog']['payment_p95_s'], 2)} |",
        f"| invoices/s, Orderly renderer | {cell(render['orderly'], 0)} |",
        f"| pages/s, minimal reportlab page | {cell(render['minimal'], 0)} |",
        "",
        "![Checkout p95 and throughput by variant](results/checkout.png)",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checkout = results["checkout"]
    variants = ["floor", "orderly", "inline"]
    users = sorted({int(key.split("@")[1]) for key in checkout})
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.25
    for index, variant in enumerate(variants):
        xs = [i + (index - 1) * width for i in range(len(users))]
        latency.bar(xs, [checkout[f"{variant}@{u}"]["p95_ms"]["median"] for u in users],
                    width, label=variant)  # fmt: skip
        throughput.bar(xs, [checkout[f"{variant}@{u}"]["rps"]["median"] for u in users],
                       width, label=variant)  # fmt: skip
    for axis, title in ((latency, "checkout p95 (ms, log)"), (throughput, "checkouts/s")):
        axis.set_xticks(range(len(users)), [f"{u} users" for u in users])
        axis.set_title(title)
        axis.legend()
    latency.set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15, help="seconds per load run")
    parser.add_argument("--concurrency", type=lambda v: [int(x) for x in v.split(",")],
                        default=[1, 8, 32])  # fmt: skip
    parser.add_argument("--rate", type=int, default=10, help="orders/s for end-to-end")
    parser.add_argument("--gateway-latency-ms", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orderly_bench"))  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None,
                        help="run only these sections (comma-separated); writes no results")  # fmt: skip
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="orderly-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "true",  # the sandbox gateway is mounted only in debug
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "ORDERLY_LOCK_REDIS_URL": args.redis_url,
        "SITE_URL": f"http://127.0.0.1:{WEB_PORT}",
        "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{GATEWAY_PORT}/sandbox/gateway",
        "SANDBOX_GATEWAY_LATENCY_MS": str(args.gateway_latency_ms),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(workdir / "mail"),
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    create_database(args.database_url)
    django_setup(env)
    product_ids = prepare_database(env, stock=10_000_000)
    reset_broker()
    stack = Stack(env, workdir)
    results = {}
    sections = {
        "checkout": lambda: checkout_latency(stack, env, product_ids, args),
        "publish": lambda: publish_cost(args),
        "worker_throughput": lambda: worker_throughput(stack, args),
        "end_to_end": lambda: end_to_end(stack, env, product_ids, args),
        "queue_isolation": lambda: queue_isolation(stack, env, product_ids, args),
        "invoice_render": lambda: invoice_render(args),
    }
    try:
        stack.gunicorn("gateway", GATEWAY_PORT, workers=1, threads=64)
        for name, measure in sections.items():
            if not args.only or name in args.only:
                results[name] = measure()
    finally:
        stack.stop_all()
    if args.only:  # a partial run, for working on the harness: print, write nothing
        print(json.dumps(results, indent=2))
        return
    checkout = results["checkout"]
    results["ratios"] = {
        "orderly_over_floor_p95_at_8": checkout["orderly@8"]["p95_ms"]["median"]
        / checkout["floor@8"]["p95_ms"]["median"],
        "orderly_over_inline_rps_at_8": checkout["orderly@8"]["rps"]["median"]
        / checkout["inline@8"]["rps"]["median"],
    } if "orderly@8" in checkout else {}  # fmt: skip
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()}",
        "runs": args.runs, "duration": args.duration, "rate": args.rate,
        "gateway_latency_ms": args.gateway_latency_ms,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"meta": meta, **results}, indent=2))
    chart(results, RESULTS / "checkout.png")
    table = report(results, meta)
    (ROOT / "bench" / "RESULTS.md").write_text("# Benchmark results\n\n" + table)
    readme = (ROOT / "README.md").read_text()
    readme = re.sub(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)",
                    lambda m: m.group(1) + table.replace("](results/", "](bench/results/")
                    + m.group(2), readme, flags=re.S)  # fmt: skip
    (ROOT / "README.md").write_text(readme)
    print(table)
    log(f"logs in {workdir}")


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


if __name__ == "__main__":
    main()
