"""Capacity: the shopper's wait against the gateway, end to end at rising rates, workers."""

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from .load import (
    drain,
    finished_between,
    percentile,
    pipeline_times,
    run_checkouts,
    spread,
    spread_rows,
)
from .profiling import Profile
from .stack import PYTHON, ROOT, CpuMeter, log, procfile_workers, reset_broker


def gateway_sweep(stack, env, product_ids, args):
    """Checkout at 8 users for floor, orderly and inline, at each gateway latency.

    Workers are stopped: only the request is measured (the capacity curve
    measures the whole pipeline). The gateway is restarted at each latency.
    """
    results = {}
    for latency in args.gateway_sweep:
        stack.gateway(latency)
        for variant in ("floor", "orderly", "inline"):
            stack.web(DJANGO_SETTINGS_MODULE="bench.settings", BENCH_CHECKOUT_VARIANT=variant)
            runs = []
            for attempt in range(args.runs):
                log(f"checkout {variant} x8, gateway {latency} ms, run {attempt + 1}/{args.runs}")
                row, _ = run_checkouts(stack, product_ids, users=8, seconds=args.duration)
                runs.append(row)
                reset_broker()
            results[f"{variant}@{latency}"] = spread_rows(runs)
            stack.stop("web")
    stack.gateway(args.gateway_latency_ms)
    return results


# The rate at which CPU per order is compared: the form, the API and the seed-naive variant.
CPU_RATE = 10
# Kinds outside the stack's CPU per order: the load generator, and the S3 stand-in
# (production's S3 is not on this machine; both variants upload the same PDFs to it).
# "postgres (this database)" is a cross-check of "postgres" (the whole server), not added to it.
APART = ("locust", "s3", "postgres (this database)")


def measure_rate(stack, product_ids, args, meter, *, rate, door="form", naive_mail_dir=None,
                 **extra):  # fmt: skip
    """One load run at `rate` through `door`; the run's row, with its CPU per order by kind."""
    from django.utils import timezone

    from orders.models import Order

    from .limits import Sampler, pool_busy

    since = timezone.now()
    users = shoppers(rate)
    sampler = Sampler(stack.env["CELERY_BROKER_URL"], stack.env["DATABASE_URL"]).start()
    load, cpu = run_checkouts(stack, product_ids, users=users, seconds=args.duration, rate=rate,
                              meter=meter, door=door, **extra)  # fmt: skip
    sampled = sampler.stop(cpu["since"], cpu["until"])
    totals, _, orders = drain(since, timeout=max(30, args.duration * 4),
                              naive_mail_dir=naive_mail_dir)  # fmt: skip
    stages = {}
    pipeline_times(since, stages, naive_mail_dir=naive_mail_dir)
    window_since, window_until = cpu.pop("since"), cpu.pop("until")
    finished = finished_between(since, window_since, window_until, naive_mail_dir=naive_mail_dir)
    # The load generator works per request: its CPU is per order placed in the window.
    placed = Order.objects.filter(
        created_at__gte=window_since, created_at__lte=window_until
    ).count()
    per_order = {kind: seconds * 1000 / finished if finished else None
                 for kind, seconds in cpu["cpu_s"].items() if kind != "locust"}  # fmt: skip
    per_order["locust"] = cpu["cpu_s"].get("locust", 0.0) * 1000 / placed if placed else None
    if sampled.get("our_backends_cpu_s") is not None and finished:
        per_order["postgres (this database)"] = sampled["our_backends_cpu_s"] * 1000 / finished
    stack_ms = sum(v for k, v in per_order.items() if k not in APART and v is not None)
    row = {
        **{f"{stage}_p95_s": percentile(values, 0.95) for stage, values in stages.items()},
        "offered": rate,
        "achieved": orders / args.duration,
        "finished": len(totals) / orders if orders else 0,
        "p50_s": percentile(totals, 0.5),
        "p95_s": percentile(totals, 0.95),
        "checkout_p95_ms": load.get("p95_ms"),
        "finished_in_window": finished,
        "placed_in_window": placed,
        "cpu_ms_per_order": stack_ms if finished else None,
        "locust_ms_per_order": per_order.get("locust"),
        "cores_used": cpu["cores_used"],
        "machine_cores": cpu["machine_cores"],
    }  # fmt: skip
    limits = {**sampled, "machine_cores": cpu["machine_cores"],
              "pool_busy": pool_busy(window_since, window_until)}  # fmt: skip
    return row, {**cpu, "ms_per_order": per_order}, limits


def point_of(results):
    """The median row of a rate's runs, with CPU per order by kind (median of the runs)."""
    rows, cpus, limits = zip(*results, strict=True)
    point = spread_rows(list(rows))
    kinds = sorted({kind for cpu in cpus for kind in cpu["ms_per_order"]})
    point["cpu_by_kind"] = {kind: spread([cpu["ms_per_order"].get(kind) for cpu in cpus])
                            for kind in kinds}  # fmt: skip
    point["cpu"] = {"cores_used": cpus[-1]["cores_used"], "share": cpus[-1]["share"]}
    point["limits"] = limits[-1]  # of the last run
    return point


def capacity_curve(stack, env, product_ids, args):
    """Checkout to every step final at each rate, with every process as `make dev` runs it.

    The first rate (1/s) is the idle reference: what one order takes alone,
    i.e. the gateway plus the pipeline's own service time. Stops after the
    first rate the stack cannot keep up with (it saturates). At CPU_RATE the
    API's orders are measured too, right after the form's, on the same stack.
    Then the seed-naive variant runs at CPU_RATE (naive_point).
    """
    from .limits import limiting_resource

    stack.web()
    stack.workers()
    stack.beat_and_flower()
    meter = CpuMeter(stack, redis_port=redis_port(env))
    settle(meter)
    api_key = make_api_key()
    points, profile, api = {}, None, None
    for rate in [1, *args.rates]:
        runs = []
        for attempt in range(args.runs):
            log(f"capacity at {rate}/s run {attempt + 1}/{args.runs}")
            runs.append(measure_rate(stack, product_ids, args, meter, rate=rate))
        if rate == args.profile_rate:
            profile = profile_run(stack, product_ids, args, rate=rate, users=shoppers(rate))
        point = point_of(runs)
        points[str(rate)] = point
        if rate == CPU_RATE:
            api_runs = []
            for attempt in range(args.runs):
                log(f"API orders at {rate}/s run {attempt + 1}/{args.runs}")
                api_runs.append(measure_rate(stack, product_ids, args, meter, rate=rate,
                                             door="api", BENCH_API_KEY=api_key))  # fmt: skip
            api = point_of(api_runs)
        if saturated(point, rate, args.saturation_s) and rate > 1:
            log(f"saturated at {rate}/s (p95 {med(point['p95_s'])}); stopping the curve")
            break
    stack.stop_background()
    stack.stop("web")
    knee = max((int(rate) for rate, point in points.items()
                if int(rate) > 1 and not past_knee(point, int(rate))), default=None)  # fmt: skip
    past = next((int(r) for r, p in points.items() if int(r) > 1 and past_knee(p, int(r))), None)
    limit = None
    if past is not None:
        limit = {"rate": past, "statement": limiting_resource(
            points[str(past)], cores=os.cpu_count(), pools=procfile_workers())}  # fmt: skip
        log(f"past the knee, at {past}/s, the limit is {limit['statement']}")
    reset_broker()
    naive = naive_point(stack, product_ids, args)
    return {"points": points, "knee": knee, "limit": limit, "profile": profile, "api": api,
            "naive": naive, "cpu_rate": CPU_RATE}  # fmt: skip


def shoppers(rate) -> int:
    """Locust users for `rate` orders/s: three per order a second, each placing one every 3 s
    (1/s at 50/s and more). A user waits for its checkout, so with one per order/s a
    checkout slower than a second lowered the offered rate itself."""
    return max(1, min(3 * rate, 150))


def settle(meter, *, idle_cores=0.15, timeout=30):
    """Wait until the stack is idle (under `idle_cores` over a second): beat's and Flower's
    start-up, the workers' first relay, are not anybody's orders."""
    deadline = time.monotonic() + timeout
    time.sleep(2)
    while time.monotonic() < deadline:
        meter.start()
        time.sleep(1)
        if meter.stop()["cores_used"] < idle_cores:
            return
    log("the stack did not settle (busy machine?); measuring anyway")


def med(stat):
    return stat["median"] if stat else None


def past_knee(point, rate) -> bool:
    """p95 checkout -> all steps final over 2 s, or orders left unfinished or not placed."""
    return (not point["p95_s"] or point["p95_s"]["median"] > 2.0
            or point["finished"]["median"] < 0.95
            or point["achieved"]["median"] < 0.85 * rate)  # fmt: skip


def saturated(point, rate, limit_s) -> bool:
    """Past saturation: p95 over --saturation-s, or orders unfinished or not placed."""
    p95 = med(point["p95_s"])
    return (p95 is None or p95 > limit_s or point["finished"]["median"] < 0.95
            or point["achieved"]["median"] < 0.85 * rate)  # fmt: skip


def naive_point(stack, product_ids, args):
    """The seed-naive variant (bench/naive.py) at CPU_RATE on the same stack: its web
    processes and the payments, e-mails and reports workers, with bench/naive_settings.py."""
    naive_env = {"DJANGO_SETTINGS_MODULE": "bench.naive_settings"}
    stack.web(**naive_env)
    pools = procfile_workers()
    stack.workers({q: pools[q] for q in ("payments", "emails", "reports")}, include="bench.naive",
                  **naive_env)  # fmt: skip
    meter = CpuMeter(stack, redis_port=redis_port(stack.env))
    settle(meter)
    runs = []
    for attempt in range(args.runs):
        log(f"seed-naive at {CPU_RATE}/s run {attempt + 1}/{args.runs}")
        runs.append(measure_rate(stack, product_ids, args, meter, rate=CPU_RATE, door="naive",
                                 naive_mail_dir=stack.env["EMAIL_FILE_PATH"]))  # fmt: skip
    stack.stop_workers()
    stack.stop("web")
    return point_of(runs)


def redis_port(env) -> int:
    from urllib.parse import urlparse

    return urlparse(env["CELERY_BROKER_URL"]).port or 6379


def make_api_key() -> str:
    """An API client for the load generator, made as admin makes one, with no rate to hit."""
    from api import keys
    from api.models import ApiClient

    key, prefix, key_hash = keys.new_key()
    ApiClient.objects.create(name="bench", key_prefix=prefix, key_hash=key_hash,
                             rate_limit_per_minute=10_000_000)  # fmt: skip
    return key


def profile_run(stack, product_ids, args, *, rate, users):
    """One more run at `rate`, sampled by py-spy (bench/profiling.py); not counted in the curve."""
    from django.utils import timezone

    log(f"capacity at {rate}/s, profiled (py-spy on every process; not counted)")
    since = timezone.now()
    profile = Profile(stack, stack.workdir, seconds=max(args.duration - 4, 2),
                      database_url=args.database_url)  # fmt: skip
    profile.start()
    run_checkouts(stack, product_ids, users=users, seconds=args.duration, rate=rate)
    drain(since, timeout=max(30, args.duration * 4))
    return {"rate": rate, "text": profile.report()}


def queue_isolation(stack, env, product_ids, args, backlog=10_000):
    """Payment p95 (order created -> charge settled) with an idle vs a 10,000-deep emails queue."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from bench.tasks import noop

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    stack.web()
    stack.workers()
    queues = procfile_workers()
    results = {}
    for label in ("idle", "backlog"):
        runs = []
        for attempt in range(args.runs):
            log(f"queue isolation ({label}) run {attempt + 1}/{args.runs}")
            if label == "backlog":  # fill the emails queue while its worker is stopped
                stack.stop("worker-emails")
                with noop.app.producer_or_acquire() as producer:
                    for _ in range(backlog):
                        noop.apply_async(queue="emails", producer=producer)
                stack.workers({"emails": queues["emails"]})
            depth = client.llen("emails")
            since = timezone.now()
            run_checkouts(stack, product_ids, users=5, seconds=args.duration, rate=5)
            time.sleep(3)
            _, payments, _ = drain(since, timeout=5)
            runs.append(
                {"payment_p95_s": percentile(payments, 0.95), "emails_depth_at_start": depth}
            )
            reset_broker()
        results[label] = spread_rows(runs)
    stack.stop_workers()
    stack.stop("web")
    results["backlog_over_idle"] = (results["backlog"]["payment_p95_s"]["median"]
                                    / results["idle"]["payment_p95_s"]["median"])  # fmt: skip
    return results


def worker_throughput(stack, args, count=4000):
    """No-op tasks/s with -c 2: the base task, a bare Celery task, the base task storing
    results, and the base task writing its TaskAttempt row (the order timeline's cost)."""
    from bench.tasks import bare_noop, noop, noop_recorded, noop_stored

    tasks = ((noop, ()), (bare_noop, ()), (noop_stored, ()), (noop_recorded, (1,)))
    runs = {task.name: [] for task, _ in tasks}
    # Interleaved, so a busy moment on the machine does not favour one task.
    for attempt in range(args.runs):
        for task, task_args in tasks:
            log(f"throughput {task.name} run {attempt + 1}/{args.runs}")
            runs[task.name].append(drain_rate(stack, task, count, task_args))
    results = {name: spread(values) for name, values in runs.items()}
    results["base_over_bare"] = (
        results["bench.noop"]["median"] / results["bench.bare_noop"]["median"]
    )
    results["stored_over_ignored"] = (results["bench.noop_stored"]["median"]
                                      / results["bench.noop"]["median"])  # fmt: skip
    results["recorded_over_base"] = (
        results["bench.noop_recorded"]["median"] / results["bench.noop"]["median"]
    )
    return results


def metrics_cost(stack, args, count=4000):
    """No-op throughput with the task metrics (multiprocess files) on and off; cost per task."""
    from bench.tasks import noop

    metrics_dir = Path(tempfile.mkdtemp(prefix="orderly-bench-metrics-"))
    runs = {"on": [], "off": []}
    for attempt in range(args.runs):
        log(f"metrics cost run {attempt + 1}/{args.runs}")
        runs["on"].append(drain_rate(stack, noop, count, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)))
        runs["off"].append(drain_rate(stack, noop, count, ORDERLY_TASK_METRICS="false"))
    handlers = {"files": [], "memory": []}
    for _ in range(args.runs):
        for kind, extra in (("files", {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}),
                            ("memory", {})):  # fmt: skip
            output = subprocess.run([PYTHON, "bench/metrics_handlers.py"], cwd=ROOT, check=True,
                                    env={**stack.env, **extra}, capture_output=True, text=True)  # fmt: skip
            handlers[kind].append(json.loads(output.stdout.strip().splitlines()[-1])["us_per_task"])
    on, off = spread(runs["on"]), spread(runs["off"])
    # Two pool processes: each task costs 2/rate seconds of a process.
    cost_us = (2 / on["median"] - 2 / off["median"]) * 1e6
    return {"tasks_per_s_metrics_on": on, "tasks_per_s_metrics_off": off,
            "on_over_off": on["median"] / off["median"], "cost_per_task_us": cost_us,
            "handlers_us_per_task_files": spread(handlers["files"]),
            "handlers_us_per_task_memory": spread(handlers["memory"])}  # fmt: skip


def drain_rate(stack, task, count, task_args=(), **extra_env) -> float:
    """Tasks/s of one -c 2 worker draining `count` queued calls of `task`."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    with task.app.producer_or_acquire() as producer:
        for _ in range(count):
            task.apply_async(task_args, queue="bench", producer=producer)
    stack.start("worker-bench", [PYTHON, "-m", "celery", "-A", "project", "worker",
                "-Q", "bench", "-c", "2", "--include", "bench.tasks",
                "--without-gossip", "--without-mingle", "-l", "WARNING"], **extra_env)  # fmt: skip
    while client.llen("bench") == count:  # the worker has started consuming
        time.sleep(0.005)
    started = time.perf_counter()
    while client.llen("bench"):
        time.sleep(0.005)
    rate = count / (time.perf_counter() - started)
    stack.stop("worker-bench")
    reset_broker()
    return rate
