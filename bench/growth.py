"""How cost grows with the tables: relay backlog, admin pages, status polling, sales report.

Behind `--growth` (it fills the bench database with millions of rows);
`--growth-scale` shrinks every size for a quick check of the harness.
Rows are made with INSERT ... SELECT generate_series (seconds, not minutes).
"""

import json
import statistics
import subprocess
import time

from .load import locust_row, start_locust
from .stack import PYTHON, ROOT, log, reset_broker

# Each runs in a child process so its peak memory is its own: VmHWM, the
# high-water mark of resident memory, which (unlike ru_maxrss) exec resets.
PEAK_MB = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
RELAY_CHILD = (
    PEAK_MB
    + """
import json, sys, time
import django
django.setup()
from jobs.services.outbox import relay_outbox
before = peak_mb()
started = time.perf_counter()
rows = runs = 0
while True:
    published = relay_outbox(grace_seconds=0)  # one beat-driven run of the relay task
    runs += 1
    rows += published
    if not published:
        break
print(json.dumps({"rows": rows, "runs": runs, "seconds": time.perf_counter() - started,
                  "rss_before_mb": before, "peak_rss_mb": peak_mb()}))
"""
)

REPORT_CHILD = (
    PEAK_MB
    + """
import json, sys, time
from datetime import date
import django
django.setup()
from django.core.management import call_command
from reports.models import SalesReport
from reports.services import sales
day = date.fromisoformat(sys.argv[1])
report = sales.request_daily_sales_report(day=day)
SalesReport.objects.filter(pk=report.pk).update(status=SalesReport.Status.RUNNING)
before = peak_mb()
started = time.perf_counter()
for hour in sales.report_hours(day, day):  # the chord's parts, one after another (one worker)
    sales.compute_sales_report_part(report_id=report.pk, hour_start=hour)
parts = time.perf_counter() - started
report = sales.compile_sales_report(report_id=report.pk)
print(json.dumps({"orders": report.orders_count, "seconds": time.perf_counter() - started,
                  "parts_seconds": parts, "rss_before_mb": before, "peak_rss_mb": peak_mb()}))
"""
)


def _child(env, code, *args):
    done = subprocess.run([PYTHON, "-c", code, *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sql(statement, params=()):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def relay_drain(env, scale):
    """The relay draining a backlog of stranded outbox rows: rows/s and memory."""
    import redis
    from django.conf import settings

    from bench.tasks import noop

    count = int(100_000 * scale)
    log(f"growth: {count} stranded outbox rows")
    signature = json.dumps(dict(noop.si().set(queue="bench-relay")))
    _sql("""INSERT INTO jobs_outboxmessage (signature, reference, created_at, publish_attempts,
                last_error, traceparent)
            SELECT %s::jsonb, 'bench:' || g, now() - interval '1 hour', 0, '', ''
            FROM generate_series(1, %s) g""", [signature, count])  # fmt: skip
    _sql("ANALYZE jobs_outboxmessage")
    result = _child(env, RELAY_CHILD)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("bench-relay")
    result["rows_per_s"] = result["rows"] / result["seconds"]
    result["stranded"] = count
    return result


def bulk_paid_orders(count, start):
    """`count` paid orders of one item each, spread over the day from `start`."""
    from datetime import timedelta

    _sql("""INSERT INTO orders_order (public_id, email, full_name, shipping_address, status,
                cancel_reason, currency, total, created_at, updated_at)
            SELECT gen_random_uuid(), 'bulk' || g || '@example.com', 'Bulk Shopper', 'x', 'paid',
                '', 'EUR', 10.00, %s + (g * 86399.0 / %s) * interval '1 second', now()
            FROM generate_series(1, %s) g""", [start, count, count])  # fmt: skip
    _sql("""INSERT INTO orders_orderitem (order_id, product_id, sku, name, unit_price, quantity)
            SELECT o.id, p.id, p.sku, p.name, 10.00, 1
            FROM orders_order o
            JOIN (SELECT id, sku, name, row_number() OVER (ORDER BY id) - 1 AS k
                  FROM inventory_product) p
              ON p.k = o.id %% (SELECT count(*) FROM inventory_product)
            WHERE o.created_at >= %s AND o.created_at < %s
              AND NOT EXISTS (SELECT 1 FROM orders_orderitem i WHERE i.order_id = o.id)""",
         [start, start + timedelta(days=1)])  # fmt: skip


def sales_report(env, scale):
    """The daily sales report over a day of `1,000,000 × scale` paid orders: seconds, memory."""
    from datetime import datetime, timedelta
    from datetime import time as day_time

    from django.utils import timezone

    count = int(1_000_000 * scale)
    day = timezone.localdate() - timedelta(days=2)  # not yesterday: beat may report that one
    start = datetime.combine(day, day_time.min, tzinfo=timezone.get_default_timezone())
    log(f"growth: {count} paid orders on {day}")
    started = time.perf_counter()
    bulk_paid_orders(count, start)
    _sql("ANALYZE orders_order; ANALYZE orders_orderitem")
    log(f"growth: orders made in {time.perf_counter() - started:.0f} s; running the report")
    result = _child(env, REPORT_CHILD, day.isoformat())
    reset_broker()
    return result


def make_dead_letters_and_results(scale):
    """100,000 × scale dead letters (on real orders) and 1,000,000 × scale task results."""
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import Order

    letters, results = int(100_000 * scale), int(1_000_000 * scale)
    log(f"growth: {letters} dead letters, {results} task results")
    if Order.objects.count() < 1000:  # dead letters point at real orders
        bulk_paid_orders(1000, timezone.now() - timedelta(days=3))
    _sql("""WITH picked AS (SELECT array_agg(id) AS ids, array_agg(public_id) AS public_ids,
                                   count(*) AS n
                            FROM (SELECT id, public_id FROM orders_order ORDER BY id LIMIT 1000) s)
            INSERT INTO jobs_deadletter (task_name, task_id, queue, args, kwargs, sealed_arguments,
                exception_class, exception_message, traceback, attempts, worker_hostname,
                first_failed_at, last_failed_at, reference, status, requeued_task_id, note)
            SELECT (ARRAY['orders.charge_payment', 'notifications.send_order_confirmation',
                          'reports.generate_invoice_pdf', 'notifications.deliver_webhook'])[1 + g %% 4],
                'bench-dl-' || g, (ARRAY['payments', 'emails', 'reports', 'webhooks'])[1 + g %% 4],
                jsonb_build_array(ids[1 + g %% n]), '{}'::jsonb, 'sealed',
                'jobs.errors.TemporaryError', 'gateway answered 503', 'Traceback ...', 7,
                'bench@host', now() - g * interval '1 minute', now() - g * interval '1 minute',
                'order:' || public_ids[1 + g %% n],
                (ARRAY['open', 'open', 'resolved', 'requeued'])[1 + g %% 4], '', ''
            FROM generate_series(1, %s) g, picked""", [letters])  # fmt: skip
    _sql("""INSERT INTO django_celery_results_taskresult (task_id, status, content_type,
                content_encoding, result, date_done, meta, task_args, task_kwargs, task_name,
                worker, date_created, date_started)
            SELECT 'bench-tr-' || g, (ARRAY['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE'])[1 + g %% 4],
                'application/json', 'utf-8', '"succeeded"', now() - g * interval '1 second',
                '{"children": []}', '(' || g || ',)', '{}',
                (ARRAY['orders.charge_payment', 'notifications.send_order_confirmation',
                       'reports.generate_invoice_pdf', 'inventory.sync_warehouse_stock'])[1 + g %% 4],
                'bench-' || (g %% 5) || '@host', now() - g * interval '1 second',
                now() - g * interval '1 second'
            FROM generate_series(1, %s) g""", [results])  # fmt: skip
    _sql("ANALYZE jobs_deadletter; ANALYZE django_celery_results_taskresult")
    return {"dead_letters": letters, "task_results": results}


def _page_cost(client, url, repeat=5):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
    return {"ms": statistics.median(timings), "queries": len(queries)}


def admin_pages(scale):
    """Milliseconds and queries per admin page, with the dead letters and results made above."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from jobs.models import DeadLetter

    sizes = make_dead_letters_and_results(scale)
    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={
        "is_staff": True, "is_superuser": True})  # fmt: skip
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    letter = DeadLetter.objects.order_by("-last_failed_at").first()
    order_pk = letter.args[0]
    pages = {
        "dead letters, list": "/admin/jobs/deadletter/",
        "dead letters, open only": "/admin/jobs/deadletter/?status__exact=open",
        "dead letters, search an order": f"/admin/jobs/deadletter/?q={letter.reference}",
        "dead letter, detail": f"/admin/jobs/deadletter/{letter.pk}/change/",
        "order, detail": f"/admin/orders/order/{order_pk}/change/",
        "orders, list": "/admin/orders/order/",
        "task results, list": "/admin/django_celery_results/taskresult/",
    }
    result = {name: _page_cost(client, url) for name, url in pages.items()}
    log(f"growth: admin pages {json.dumps(result)}")
    return {"sizes": sizes, "pages": result}


def status_endpoint(stack, env, product_ids, args, users=200):
    """One web process serving `users` open order pages that poll once a second."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.access import SESSION_KEY
    from orders.models import Order

    stack.web(workers=1, threads=4)
    log(f"growth: {users} order pages polling one web process")
    process, prefix = start_locust(stack, locustfile="locust_status.py", users=users,
                                   seconds=args.duration + 10, spawn_rate=40,
                                   BENCH_PRODUCT_IDS=",".join(map(str, product_ids)))  # fmt: skip
    process.wait()
    stack.stop("web")
    served = locust_row(prefix, "status")
    from django.db import connection

    order = Order.objects.order_by("-pk").first()
    client = Client(HTTP_HOST="127.0.0.1")
    session = client.session
    session[SESSION_KEY] = [str(order.public_id)]
    session.save()
    url = f"/orders/{order.public_id}/status/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    served["queries_per_request"] = len(queries)
    served["users"] = users
    return served
