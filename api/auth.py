"""`Authorization: Bearer <key>` for API clients, with a per-key fixed-window rate limit.

A shopper's session never authorizes the API: only a bearer key does.
"""

import time

from django.core.cache import cache
from ninja.security import HttpBearer

from . import keys
from .models import ApiClient
from .problems import Problem

WINDOW_SECONDS = 60


def unauthorized() -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Unauthorized",
        "Send a valid, active API key as `Authorization: Bearer <key>`.",
        headers={"WWW-Authenticate": 'Bearer realm="orderly"'},
    )


def check_rate(client: ApiClient, *, now: float | None = None) -> None:
    """Count a request against the client's limit for this clock minute; 429 when over.

    A fixed window in Django's cache (hand-written: ninja's throttles take one
    rate per API, not one per client). With several web processes the cache
    must be shared (Redis) for the limit to hold across them.
    """
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    # By key prefix, not id: a new client never inherits a count (ids can be reused).
    cache_key = f"api-rate:{client.key_prefix}:{window}"
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count > client.rate_limit_per_minute:
        retry_after = WINDOW_SECONDS - int(now % WINDOW_SECONDS)
        raise Problem(
            429,
            "rate-limited",
            "Too many requests",
            f"This key may make {client.rate_limit_per_minute} requests a minute.",
            headers={"Retry-After": str(retry_after)},
        )


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        prefix = keys.prefix_of(token)
        client = ApiClient.objects.filter(key_prefix=prefix, is_active=True).first()
        if prefix is None or client is None or not keys.matches(token, client.key_hash):
            raise unauthorized()
        check_rate(client)
        return client

    def __call__(self, request):
        # HttpBearer answers None for a missing or non-Bearer header; make it a problem too.
        client = super().__call__(request)
        if client is None:
            raise unauthorized()
        return client
