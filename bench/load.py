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


def start_locust(stack, *, locustfile, users, seconds, spawn_rate=None, user_class=None, **extra):
    """Start locust headless; returns (process, csv prefix)."""
    prefix = Path(tempfile.mkdtemp()) / "stats"
    command = [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / locustfile),
               *([user_class] if user_class else []), "--headless", "-u", str(users), "-r", str(spawn_rate or users), "-t", f"{seconds}s",
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


# Which Locust class places orders through which door, and its request's name.
SHOPPERS = {"form": ("Shopper", "checkout"), "api": ("ApiShopper", "api checkout"),
            "naive": ("NaiveShopper", "naive checkout")}  # fmt: skip


def run_checkouts(stack, product_ids, *, users, seconds, rate=None, meter=None, door="form",
                  **extra):  # fmt: skip
    """Locust shoppers checking out (flat out, or `rate` orders/s in all); the checkout row.

    With a `meter`, the CPU is measured over the steady window only: from
    WARM_UP s after the first order (every user spawned and going) to 1 s
    before the end, so neither the start-up nor the tail is averaged in. Returns
    (checkout row, the meter's figures with the window's wall-clock "since"
    and "until", or None).
    """
    from django.utils import timezone

    extra = {"BENCH_PRODUCT_IDS": ",".join(map(str, product_ids)), **extra}
    if rate:
        extra["BENCH_RATE_PER_USER"] = str(rate / users)
    user_class, name = SHOPPERS[door]
    process, prefix = start_locust(stack, locustfile="locustfile.py", users=users, seconds=seconds,
                                   user_class=user_class, **extra)  # fmt: skip
    cpu = None
    if meter:
        started = load_started(process)
        warm_up = min(WARM_UP, seconds / 4)
        time.sleep(max(started + warm_up - time.monotonic(), 0))
        since = timezone.now()
        meter.start({"locust": process.pid})
        time.sleep(max(started + seconds - 1 - time.monotonic(), 1))
        cpu = {**meter.stop(), "since": since, "until": timezone.now()}
    process.wait()
    return locust_row(prefix, name), cpu


WARM_UP = 3.0


def load_started(process, timeout=30) -> float:
    """time.monotonic() when Locust's first order reached the database (its start-up, seconds
    on a busy machine, is not load: the window counts from here)."""
    from django.utils import timezone

    from orders.models import Order

    since, deadline = timezone.now(), time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if Order.objects.filter(created_at__gte=since).exists():
            return time.monotonic()
        time.sleep(0.1)
    return time.monotonic()


def naive_emails(mail_dir, since) -> dict:
    """{order pk: when its seed-naive confirmation was written} from the mail backend's files."""
    import datetime as dt

    from bench.naive import NAIVE_SUBJECT_PATTERN

    sent, floor = {}, since.timestamp() - 1
    for path in Path(mail_dir).glob("*.log") if Path(mail_dir).is_dir() else ():
        mtime = path.stat().st_mtime
        if mtime >= floor:
            for match in NAIVE_SUBJECT_PATTERN.finditer(path.read_bytes()):
                sent[int(match[1])] = dt.datetime.fromtimestamp(mtime, dt.UTC)
    return sent


def order_times(since, naive_mail_dir=None) -> dict:
    """{order pk: (created, settled, e-mailed, invoiced)} of the orders created since `since`
    (None for a step not done). A seed-naive order's e-mail is found in the mail files."""
    from django.db.models import Max

    from notifications.models import EmailLog
    from orders.models import Order
    from reports.models import Invoice

    orders = Order.objects.filter(created_at__gte=since)
    created = dict(orders.values_list("pk", "created_at"))
    settled = dict(orders.filter(payment__settled_at__isnull=False)
                   .values_list("pk", "payment__settled_at"))  # fmt: skip
    if naive_mail_dir:
        emailed = naive_emails(naive_mail_dir, since)
    else:
        emailed = dict(EmailLog.objects.filter(order__in=orders).values("order")
                       .annotate(at=Max("sent_at")).values_list("order", "at"))  # fmt: skip
    invoiced = dict(Invoice.objects.filter(order__in=orders).values_list("order", "created_at"))
    return {pk: (at, settled.get(pk), emailed.get(pk), invoiced.get(pk))
            for pk, at in created.items()}  # fmt: skip


def finished_between(created_since, since, until, *, naive_mail_dir=None) -> int:
    """Orders created since `created_since` (the run's start) whose last step became final
    within the window [since, until]."""
    times = order_times(created_since, naive_mail_dir)
    return sum(1 for _, *steps in times.values()
               if all(steps) and since <= max(steps) <= until)  # fmt: skip


def pipeline_times(since, stages=None, naive_mail_dir=None):
    """Seconds from order creation to every step final, and to the charge settled.

    `stages`, a dict, if given receives each stage's seconds: "charge"
    (created -> settled), "email" and "invoice" (settled -> sent / stored).
    """
    totals, payments = [], []
    times = order_times(since, naive_mail_dir)
    for at, settled, emailed, invoiced in times.values():
        if settled:
            payments.append((settled - at).total_seconds())
        if settled and emailed and invoiced:
            totals.append((max(settled, emailed, invoiced) - at).total_seconds())
            if stages is not None:
                stages.setdefault("charge", []).append((settled - at).total_seconds())
                stages.setdefault("email", []).append((emailed - settled).total_seconds())
                stages.setdefault("invoice", []).append((invoiced - settled).total_seconds())
    return totals, payments, len(times)


def drain(since, timeout=90, naive_mail_dir=None):
    """Wait until every order since `since` is done (or `timeout`); (totals, payments, orders)."""
    deadline = time.monotonic() + timeout
    while True:
        totals, payments, orders = pipeline_times(since, naive_mail_dir=naive_mail_dir)
        if len(totals) >= orders or time.monotonic() > deadline:
            return totals, payments, orders
        time.sleep(1)
