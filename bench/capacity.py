"""Capacity: the shopper's wait against the gateway, end to end at rising rates, workers."""

import json
import subprocess
import tempfile
import time
from pathlib import Path

from .load import drain, percentile, pipeline_times, run_checkouts, spread, spread_rows
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


def capacity_curve(stack, env, product_ids, args):
    """Checkout to every step final at each rate, with every process as `make dev` runs it.

    The first rate (1/s) is the idle reference: what one order takes alone,
    i.e. the gateway plus the pipeline's own service time. Stops after the
    first rate the stack cannot keep up with (it saturates).
    """
    from django.utils import timezone

    stack.web()
    stack.workers()
    stack.beat_and_flower()
    time.sleep(3)  # let beat's first relay and Flower's start settle
    meter = CpuMeter(stack)
    points, profile = {}, None
    for rate in [1, *args.rates]:
        runs, cpu = [], None
        for attempt in range(args.runs):
            log(f"capacity at {rate}/s run {attempt + 1}/{args.runs}")
            since = timezone.now()
            users = min(rate, 80)  # one checkout a second each
            load, cpu = run_checkouts(stack, product_ids, users=users, seconds=args.duration,
                                      rate=rate, meter=meter)  # fmt: skip
            totals, _, orders = drain(since, timeout=max(30, args.duration * 4))
            stages = {}
            pipeline_times(since, stages)
            runs.append({
                **{f"{stage}_p95_s": percentile(values, 0.95) for stage, values in stages.items()},
                "offered": rate,
                "achieved": orders / args.duration,
                "finished": len(totals) / orders if orders else 0,
                "p50_s": percentile(totals, 0.5),
                "p95_s": percentile(totals, 0.95),
                "checkout_p95_ms": load.get("p95_ms"),
            })  # fmt: skip
        if rate == args.profile_rate:
            profile = profile_run(stack, product_ids, args, rate=rate, users=users)
        point = spread_rows(runs)
        point["cpu"] = cpu  # of the last run
        points[str(rate)] = point
        p95 = point["p95_s"]["median"] if point["p95_s"] else None
        saturated = (p95 is None or p95 > args.saturation_s
                     or point["finished"]["median"] < 0.95
                     or point["achieved"]["median"] < 0.85 * rate)  # fmt: skip
        if saturated and rate > 1:
            log(f"saturated at {rate}/s (p95 {p95}); stopping the curve")
            break
    stack.stop_background()
    stack.stop("web")
    knee = max((int(rate) for rate, point in points.items() if int(rate) > 1
                and point["p95_s"] and point["p95_s"]["median"] <= 2.0
                and point["finished"]["median"] >= 0.95
                and point["achieved"]["median"] >= 0.85 * int(rate)), default=None)  # fmt: skip
    return {"points": points, "knee": knee, "profile": profile}


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
