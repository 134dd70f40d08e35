"""Orderly's benchmarks: `make bench` (not run by CI).

Starts its own stack on PostgreSQL and Redis: gunicorn for the shop, a
separate gunicorn for the sandbox gateway (with a latency, default 300 ms),
Celery workers as the Procfile runs them, beat and Flower. Locust, in a
separate process, drives the shoppers. Each figure is the median of --runs
runs, with min and max. Writes bench/results/latest.json, the charts in
bench/results/ and bench/RESULTS.md, and copies the table (and the charts it
links) into the docs' benchmarks page, docs/benchmarks/index.md, between the
bench markers.

Sections: gateway_sweep, capacity, publish, worker_throughput,
queue_isolation, invoice_render, and with --growth the big-table ones
(relay backlog, sales report, admin pages, status polling).
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import capacity, costs, growth  # noqa: E402
from bench.report import charts, report  # noqa: E402
from bench.stack import (  # noqa: E402
    DEFAULT_WEB_PORT,
    Stack,
    create_database,
    django_setup,
    log,
    prepare_database,
    reset_broker,
)

RESULTS = ROOT / "bench" / "results"


def int_list(value):
    return [int(x) for x in value.split(",")]


def arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--rates", type=int_list, default=[5, 10, 20, 30, 40, 80],
                        help="orders/s of the capacity curve (1/s, the idle reference, is added)")  # fmt: skip
    parser.add_argument("--saturation-s", type=float, default=10.0,
                        help="a rate whose p95 exceeds this ends the capacity curve")  # fmt: skip
    parser.add_argument("--profile-rate", type=int, default=20,
                        help="sample every process with py-spy during this rate's last run")  # fmt: skip
    parser.add_argument("--gateway-latency-ms", type=int, default=300)
    parser.add_argument("--gateway-sweep", type=int_list, default=[300, 1000, 3000])
    parser.add_argument("--growth", action="store_true",
                        help="also fill the database with millions of rows and measure how cost grows")  # fmt: skip
    parser.add_argument("--growth-scale", type=float, default=1.0,
                        help="scale every growth size (0.01 for a quick check of the harness)")  # fmt: skip
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orderly_bench"))  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--web-port", type=int, default=DEFAULT_WEB_PORT,
                        help="the shop's port; the gateway and Flower take the next two")  # fmt: skip
    parser.add_argument("--only", type=lambda v: v.split(","), default=None,
                        help="run only these sections (comma-separated); writes no results")  # fmt: skip
    parser.add_argument(
        "--note", default="", help="a sentence for the results (e.g. 'taken under load')"
    )
    return parser.parse_args()


BUCKET = "orderly-bench"


def environment(args, workdir):
    """The shop as production runs it: DEBUG off (so its production settings hold), the
    sandbox gateway mounted by its own setting, invoices in S3; plain HTTP on 127.0.0.1."""
    s3 = f"http://127.0.0.1:{args.web_port + 3}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Production runs behind TLS; the bench talks plain HTTP to 127.0.0.1.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "SANDBOX_ENABLED": "true",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "ORDERLY_LOCK_REDIS_URL": args.redis_url,
        "SITE_URL": f"http://127.0.0.1:{args.web_port}",
        "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{args.web_port + 1}/sandbox/gateway",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(workdir / "mail"),
        "MEDIA_ROOT": str(workdir / "media"),
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_REGION_NAME": "us-east-1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def collect_static(env):
    """Production serves hashed static files (whitenoise's manifest): collect them once."""
    import subprocess

    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True)  # fmt: skip


def main():
    args = arguments()
    workdir = Path(tempfile.mkdtemp(prefix="orderly-bench-"))
    env = environment(args, workdir)
    create_database(args.database_url)
    django_setup(env)
    collect_static(env)
    product_ids = prepare_database(stock=10_000_000)
    reset_broker()
    stack = Stack(env, workdir, web_port=args.web_port)
    RESULTS.mkdir(parents=True, exist_ok=True)
    sections = {
        "gateway_sweep": lambda: capacity.gateway_sweep(stack, env, product_ids, args),
        "capacity": lambda: capacity.capacity_curve(stack, env, product_ids, args),
        "queue_isolation": lambda: capacity.queue_isolation(stack, env, product_ids, args),
        "publish": lambda: costs.publish_cost(args, RESULTS / "publish-profile.txt"),
        "worker_throughput": lambda: capacity.worker_throughput(stack, args),
        "metrics_cost": lambda: capacity.metrics_cost(stack, args),
        "invoice_render": lambda: costs.invoice_render(args),
    }
    growth_sections = {
        "relay": lambda: growth.relay_drain(env, args.growth_scale),
        "sales_report": lambda: growth.sales_report(env, args.growth_scale),
        "admin": lambda: growth.admin_pages(args.growth_scale),
        "status": lambda: growth.status_endpoint(stack, env, product_ids, args),
    }
    results = {}
    started = dt.datetime.now()
    try:
        stack.s3(BUCKET)
        stack.gateway(args.gateway_latency_ms)
        for name, measure in sections.items():
            if not args.only or name in args.only:
                results[name] = measure()
                keep(results, workdir)
        for name, measure in growth_sections.items():
            if (args.growth and not args.only) or (args.only and name in args.only):
                results.setdefault("growth", {})[name] = measure()
                keep(results, workdir)
    finally:
        stack.stop_all()
    minutes = (dt.datetime.now() - started).total_seconds() / 60
    log(f"measured in {minutes:.1f} min; logs in {workdir}")
    if args.only:  # a partial run, for working on the harness: print, write nothing
        print(json.dumps(results, indent=2))
        return
    write(results, args, minutes)


def keep(results, workdir):
    """The results so far, in case a later section fails."""
    (workdir / "partial.json").write_text(json.dumps(results, indent=2))


def write(results, args, minutes):
    load = os.getloadavg()
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()}",
        "runs": args.runs, "duration": args.duration, "minutes": minutes,
        "gateway_latency_ms": args.gateway_latency_ms, "profile_rate": args.profile_rate,
        "load_note": (f"Load average at the end {load[0]:.1f}. {args.note}").strip(),
    }  # fmt: skip
    profile = (results.get("capacity") or {}).pop("profile", None)
    if profile:
        (RESULTS / "capacity-profile.txt").write_text(
            f"# Capacity at {profile['rate']} orders/s: where the time goes\n\n{profile['text']}"
        )
    (RESULTS / "latest.json").write_text(json.dumps({"meta": meta, **results}, indent=2))
    charts(results, RESULTS)
    table = report(results, meta)
    (ROOT / "bench" / "RESULTS.md").write_text("# Benchmark results\n\n" + table)
    copy_to_docs(table)
    print(table)


def copy_to_docs(table):
    """The table into the docs' benchmarks page, between its markers, with what it links to.

    The page sits beside a copy of the files the table links (`results/...`), as
    bench/RESULTS.md sits beside bench/results/, so the links are the same.
    """
    page = ROOT / "docs" / "benchmarks" / "index.md"
    for name in sorted(set(re.findall(r"\]\(results/([^)]+)\)", table))):
        (page.parent / "results").mkdir(exist_ok=True)
        shutil.copyfile(RESULTS / name, page.parent / "results" / name)
    text = page.read_text()
    text = re.sub(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)",
                  lambda m: m.group(1) + table + m.group(2), text, flags=re.S)  # fmt: skip
    page.write_text(text)


if __name__ == "__main__":
    main()
