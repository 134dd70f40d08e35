"""Load from Locust (a separate process) and what the database says the load did."""

import csv
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from .stack import PYTHON, ROOT


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def spread_rows(runs):
    """{key: spread} over a list of {key: value} runs."""
    return {key: spread([run.get(key) for run in runs]) for key in runs[0]}


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def start_locust(stack, *, locustfile, users, seconds, spawn_rate=None, **extra):
    """Start locust headless; returns (process, csv prefix)."""
    prefix = Path(tempfile.mkdtemp()) / "stats"
    command = [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / locustfile),
               "--headless", "-u", str(users), "-r", str(spawn_rate or users), "-t", f"{seconds}s",
               "--host", f"http://127.0.0.1:{stack.web_port}", "--csv", str(prefix),
               "--only-summary", "--loglevel", "ERROR"]  # fmt: skip
    output = open(f"{prefix}.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, cwd=ROOT, env={**stack.env, **extra},
                               stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    return process, prefix


def locust_row(prefix, name):
    with open(f"{prefix}_stats.csv") as stats:
        row = next((r for r in csv.DictReader(stats) if r["Name"] == name), None)
    if row is None or not int(row["Request Count"]):
        print(f"locust made no {name!r} request; see {prefix}.log", flush=True)
        return {}
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
    }


def run_checkouts(stack, product_ids, *, users, seconds, rate=None, meter=None):
    """Locust shoppers checking out (flat out, or `rate` orders/s in all); the checkout row."""
    extra = {"BENCH_PRODUCT_IDS": ",".join(map(str, product_ids))}
    if rate:
        extra["BENCH_RATE_PER_USER"] = str(rate / users)
    process, prefix = start_locust(stack, locustfile="locustfile.py", users=users, seconds=seconds,
                                   **extra)  # fmt: skip
    if meter:
        meter.start()
    process.wait()
    cpu = meter.stop() if meter else None
    return locust_row(prefix, "checkout"), cpu


def pipeline_times(since, stages=None):
    """Seconds from order creation to every step final, and to the charge settled.

    `stages`, a dict, if given receives each stage's seconds: "charge"
    (created -> settled), "email" and "invoice" (settled -> sent / stored).
    """
    from django.db.models import Max

    from notifications.models import EmailLog
    from orders.models import Order
    from reports.models import Invoice

    orders = Order.objects.filter(created_at__gte=since)
    created = dict(orders.values_list("pk", "created_at"))
    settled = dict(orders.filter(payment__settled_at__isnull=False)
                   .values_list("pk", "payment__settled_at"))  # fmt: skip
    emailed = dict(EmailLog.objects.filter(order__in=orders).values("order")
                   .annotate(at=Max("sent_at")).values_list("order", "at"))  # fmt: skip
    invoiced = dict(Invoice.objects.filter(order__in=orders).values_list("order", "created_at"))
    totals, payments = [], []
    for pk, at in created.items():
        if pk in settled:
            payments.append((settled[pk] - at).total_seconds())
        if pk in settled and pk in emailed and pk in invoiced:
            done = max(settled[pk], emailed[pk], invoiced[pk])
            totals.append((done - at).total_seconds())
            if stages is not None:
                stages.setdefault("charge", []).append((settled[pk] - at).total_seconds())
                stages.setdefault("email", []).append((emailed[pk] - settled[pk]).total_seconds())
                stages.setdefault("invoice", []).append(
                    (invoiced[pk] - settled[pk]).total_seconds()
                )
    return totals, payments, len(created)


def drain(since, timeout=90):
    """Wait until every order since `since` is done (or `timeout`); (totals, payments, orders)."""
    deadline = time.monotonic() + timeout
    while True:
        totals, payments, orders = pipeline_times(since)
        if len(totals) >= orders or time.monotonic() > deadline:
            return totals, payments, orders
        time.sleep(1)
