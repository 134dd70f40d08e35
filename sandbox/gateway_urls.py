"""The sandbox gateway's own origin: its API under /sandbox/gateway/, nothing of the shop.

Served by a second web process (Procfile `gateway`, sandbox/gateway_wsgi.py)
on its own port, so the shop's pages call it cross-origin, as they would a
real gateway: the browser's same-origin rule, CORS and the CSP's connect-src
are exercised in development as in production.
"""

from django.urls import include, path

from .urls import gateway_patterns

urlpatterns = [path("sandbox/gateway/", include((gateway_patterns, "sandbox")))]
