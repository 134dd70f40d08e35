"""The web layer's own metrics: each request's latency and status, by view.

One histogram, `orderly_http_request_duration_seconds{view, method, status}`:
its `_count` is the number of requests per status, so a view's 5xx ratio and
its p95 both come from it (ops/prometheus/rules.yml, OrderlyCheckoutFailing).
In multiprocess mode it is written to PROMETHEUS_MULTIPROC_DIR like the task
metrics, and /metrics adds every gunicorn process up.

Labels, all bounded by code, never by what a client sends:
- view: the URL pattern's name (`orders:checkout`, `admin:index`), never the
  path, which holds an order's UUID and would make a series per order;
  "unresolved" when no route matched (a 404, a static file WhiteNoise served);
- method: an HTTP method Django's views answer, else "other";
- status: the response's status code.

Hand-written on prometheus_client rather than django-prometheus: measured by
bench/web_metrics_cost.py (multiprocess mode, two runs on the 2-core
machine), this adds 2-16 us per request, django-prometheus's two
middlewares 70-107 us: they update about a dozen series per request
(method, transport, view, template, body sizes ...) where one does here.
"""

import time

from prometheus_client import Histogram

from . import metric_files  # noqa: F401 (names this process's metric files first)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNRESOLVED = "unresolved"
OTHER = "other"
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUEST_DURATION = Histogram(
    "orderly_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by view, method and status.",
    ("view", "method", "status"),
    buckets=SECONDS,
)


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None and match.view_name else UNRESOLVED


class RequestMetricsMiddleware:
    """Observe every request's duration under its view, method and status (first in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_DURATION.labels(
            view_label(request),
            request.method if request.method in METHODS else OTHER,
            str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response
