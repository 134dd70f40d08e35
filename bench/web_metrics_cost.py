"""What per-view request metrics cost per request: ours (ops.web_metrics) and django-prometheus.

A timing script, not a test, and not part of `make bench`:

    uv run --frozen --with django-prometheus python bench/web_metrics_cost.py

(`--with` lays django-prometheus over the project's environment for this run
only; it is not a dependency.) Both write to a PROMETHEUS_MULTIPROC_DIR, as
gunicorn does in production. Each variant serves the same tiny view through
Django's test client, in interleaved rounds; the figure is the median time
per request minus the median of the same requests with no metrics
middleware.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="web-metrics-cost-")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

REQUESTS_PER_ROUND = 2000
ROUNDS = 5


def order_page(request, public_id):
    return HttpResponse("ok")


urlpatterns = [path("orders/<uuid:public_id>/", order_page, name="detail")]

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    DATABASES={},
    SECRET_KEY="timing-only",  # noqa: S106
)
django.setup()

from django.test import Client, override_settings  # noqa: E402

VARIANTS = {
    "no metrics middleware": [],
    "ops.web_metrics (one histogram)": ["ops.web_metrics.RequestMetricsMiddleware"],
    "django-prometheus (before + after)": [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ],
}


def per_request_seconds(middleware: list[str], paths: list[str]) -> float:
    with override_settings(MIDDLEWARE=middleware):
        client = Client()
        client.get(paths[0])  # loads the middleware chain
        started = time.perf_counter()
        for request_path in paths:
            client.get(request_path)
        return (time.perf_counter() - started) / len(paths)


def main() -> None:
    paths = [f"/orders/{uuid.uuid4()}/" for _ in range(REQUESTS_PER_ROUND)]
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(ROUNDS):
        for name, middleware in VARIANTS.items():
            results[name].append(per_request_seconds(middleware, paths))
    baseline = statistics.median(results["no metrics middleware"])
    print(f"{REQUESTS_PER_ROUND} requests x {ROUNDS} rounds, multiprocess mode")
    for name, times in results.items():
        median = statistics.median(times)
        print(
            f"{name:38s} {median * 1e6:8.1f} us/request"
            f"  (+{(median - baseline) * 1e6:6.1f} us over none)"
        )


if __name__ == "__main__":
    main()
