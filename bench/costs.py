"""What one order costs on the request path: publishing it, and rendering its invoice."""

import threading
import time
from contextlib import ExitStack, contextmanager
from unittest import mock

from .load import spread
from .stack import log, reset_broker


class _Timer:
    """Time spent inside wrapped functions, per name (thread-safe).

    Wall time on the request path; CPU time of the calling thread for work
    done in a background thread (its wall time would count the GIL waits).
    """

    def __init__(self):
        self.seconds = {}
        self._lock = threading.Lock()

    def wrap(self, name, function, clock=time.perf_counter):
        def timed(*args, **kwargs):
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[name] = self.seconds.get(name, 0.0) + clock() - started

        return timed


@contextmanager
def publishing_timed(timer):
    """Time each part of publishing: the outbox INSERT, the publish, the sent mark."""
    from jobs.services import outbox, sent_marks
    from orders import services

    with ExitStack() as stack:
        for target, name, label, clock in (
            (services, "publish_on_commit", "outbox_insert", time.perf_counter),
            (outbox, "_send", "publish", time.perf_counter),
            (outbox, "mark_sent_soon", "queue_sent_mark", time.perf_counter),
            (sent_marks, "mark_sent", "sent_marks_flush", time.thread_time),
        ):
            wrapped = timer.wrap(label, getattr(target, name), clock)
            stack.enter_context(mock.patch.object(target, name, wrapped))
        yield


def publish_cost(args, profile_path=None, orders=300):
    """Per order: each part of publishing, against a bare apply_async in the same loop.

    Orders and bare publishes alternate, so both see the same machine. The
    sent marks are flushed by a background thread (jobs.services.sent_marks);
    their cost is reported apart, per order. A cross-check runs place_order
    with and without the outbox (the "floor" variant) alternately.
    """
    from bench.checkout_variants import variant_installed
    from bench.tasks import noop
    from inventory.models import Product
    from jobs.services.sent_marks import flush_sent_marks
    from orders import services
    from orders.gateway import PaymentMethod
    from sandbox import gateway as sandbox_gateway

    product = Product.objects.order_by("pk").first()

    def order():
        # The token as the gateway confirmed it at checkout (that HTTP call is not measured).
        method = sandbox_gateway.create_payment_method(
            account=sandbox_gateway.SHOP_ACCOUNT, card_number="4242424242424242"
        )
        card = PaymentMethod(token=method.token, last4=method.last4, brand=method.brand)
        services.place_order(quantities={product.pk: 1}, email="b@example.com",
                             full_name="Bench", shipping_address="x",
                             payment_method=card)  # fmt: skip

    def timed(function):
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    for _ in range(20):  # warm up connections and caches
        order()
        noop.apply_async(queue="bench")
    runs = {key: [] for key in ("outbox_insert", "publish", "queue_sent_mark", "sent_marks_flush",
                                "request_path", "apply_async", "place_order",
                                "place_order_floor", "lpush")}  # fmt: skip
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for attempt in range(args.runs):
        log(f"publish cost run {attempt + 1}/{args.runs}")
        timer = _Timer()
        bare = with_outbox = floor = lpush = 0.0
        with publishing_timed(timer):
            for _ in range(orders):
                with_outbox += timed(order)
                bare += timed(lambda: noop.apply_async(queue="bench"))
                with variant_installed("floor"):
                    floor += timed(order)
                lpush += timed(lambda: client.lpush("bench-lpush", "x"))
            time.sleep(0.1)
            flush_sent_marks()
        per_order = {name: seconds * 1000 / orders for name, seconds in timer.seconds.items()}
        for name in ("outbox_insert", "publish", "queue_sent_mark", "sent_marks_flush"):
            runs[name].append(per_order.get(name, 0.0))
        runs["request_path"].append(per_order["outbox_insert"] + per_order["publish"]
                                    + per_order["queue_sent_mark"])  # fmt: skip
        runs["apply_async"].append(bare * 1000 / orders)
        runs["place_order"].append(with_outbox * 1000 / orders)
        runs["place_order_floor"].append(floor * 1000 / orders)
        runs["lpush"].append(lpush * 1000 / orders)
        reset_broker()
    result = {key: spread(values) for key, values in runs.items()}
    result["publish_over_apply_async"] = spread(
        [a / b for a, b in zip(runs["request_path"], runs["apply_async"], strict=True)]
    )
    result["difference_ms"] = spread(
        [a - b for a, b in zip(runs["place_order"], runs["place_order_floor"], strict=True)]
    )
    if profile_path:
        result["profile"] = str(profile_path.name)
        profile_publishing(order, profile_path)
    return result


def profile_publishing(order, path, count=300):
    """pyinstrument over `count` orders, written as text: where an order's time goes."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(count):
        order()
    profiler.stop()
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    reset_broker()


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
