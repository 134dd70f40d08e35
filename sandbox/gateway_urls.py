"""The sandbox gateway's own origin: its API under /sandbox/gateway/, nothing of the shop.

Served by a second web process (Procfile `gateway`, sandbox/gateway_wsgi.py)
on its own port, so the shop's pages call it cross-origin, as they would a
real gateway: the browser's same-origin rule, CORS and the CSP's connect-src
are exercised in development as in production.

Its errors are JSON, as the gateway's answers are: the shop's error pages
link to shop URLs this origin does not have (with DEBUG off, a 404 here
rendered templates/404.html and failed on `{% url 'inventory:catalog' %}`).
"""

from django.http import JsonResponse
from django.urls import include, path

from .urls import gateway_patterns

urlpatterns = [path("sandbox/gateway/", include((gateway_patterns, "sandbox")))]


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def bad_request(request, exception=None):
    return _error(400, "Bad request")


def permission_denied(request, exception=None):
    return _error(403, "Forbidden")


def not_found(request, exception=None):
    return _error(404, "No such endpoint")


def server_error(request):
    return _error(500, "Internal error")


handler400, handler403, handler404, handler500 = (
    bad_request,
    permission_denied,
    not_found,
    server_error,
)
