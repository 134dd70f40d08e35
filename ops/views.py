"""Health probes and metrics. No session, no login: probes call them anonymously."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import readiness
from .metrics import metrics_allowed, render_metrics


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches no database, broker or worker."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when database, broker, a worker per queue and beat answer, else 503."""
    result = readiness(broker_url=settings.ORDERLY_READINESS_BROKER_URL or None)
    return JsonResponse(result, status=200 if not result["failed"] else 503)


@never_cache
@require_GET
def metrics(request):
    """Application gauges in Prometheus text format, for a bearer token or staff."""
    if not metrics_allowed(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="orderly-metrics"'
        return response
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
