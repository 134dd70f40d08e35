"""`Authorization: Bearer <key>` for API clients, with a per-key fixed-window rate limit.

A shopper's session never authorizes the API: only a bearer key does.
"""

import logging
import time

import redis
from django.conf import settings
from ninja.security import HttpBearer

from jobs import redis_clients

from . import keys
from .models import ApiClient
from .problems import Problem

logger = logging.getLogger(__name__)

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

    A fixed window in the Redis the job locks use (ORDERLY_LOCK_REDIS_URL,
    through Sentinel when configured), so every web process counts into one
    number: in a per-process cache (Django's default) two gunicorn workers let
    a client make twice its limit. Hand-written: ninja's throttles take one
    rate per API, not one per client. While Redis does not answer the request
    is let through and a warning logged: the shop keeps taking orders (their
    work waits in the outbox), unmetered for that while.
    """
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    # By key prefix, not id: a new client never inherits a count (ids can be reused).
    counter = f"orderly:api-rate:{client.key_prefix}:{window}"
    try:
        with redis_clients.client(settings.ORDERLY_LOCK_REDIS_URL).pipeline() as pipe:
            count, _ = pipe.incr(counter).expire(counter, WINDOW_SECONDS + 5).execute()
    except redis.RedisError as error:
        logger.warning("API rate limit not counted for %s, Redis: %s", client.key_prefix, error)
        return
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
