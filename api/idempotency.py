"""Idempotency keys (Stripe's semantics, the IETF httpapi draft's header): claim, replay, store.

A client's first request with a key claims it (a committed row, status
processing). A repeat with the same body waits up to WAIT_SECONDS for the
first to finish, then answers its stored response byte for byte, or 409
while it is still processing. A repeat with another body is a 422. Only a
placed order's response is stored: every refusal left nothing behind (no
order, no stock), so the claim is released and the key can be used again.
A claim older than LEASE_SECONDS (its request died) is taken over; keys
older than settings.ORDERLY_API_IDEMPOTENCY_HOURS are expired (purged by
beat, and ignored if the purge has not run yet).
"""

import hashlib
import json
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from .models import ApiClient, IdempotencyKey
from .problems import Problem

WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
# Longer than any request may run (the gateway timeout plus the order's transaction).
LEASE_SECONDS = 60
REPLAYED_HEADERS = ("Content-Type", "Location")


def fingerprint(body: dict) -> str:
    """sha256 of the body as canonical JSON: key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def expires_before():
    return timezone.now() - timedelta(hours=settings.ORDERLY_API_IDEMPOTENCY_HOURS)


def claim(*, client: ApiClient, key: str, request_fingerprint: str) -> IdempotencyKey | None:
    """Claim `key` for this request (returns its row), or None if it already has a response.

    Raises Problem 422 for a key used with another body and 409 for a key
    another request is still processing after WAIT_SECONDS.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    client=client,
                    key=key,
                    request_fingerprint=request_fingerprint,
                    locked_at=timezone.now(),
                )
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(client=client, key=key).first()
        if row is None:
            continue  # released by its request a moment ago: claim it again
        if row.created_at < expires_before():
            row.delete()
            continue
        if row.request_fingerprint != request_fingerprint:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused with another body",
                "This Idempotency-Key was already used with a different request body; "
                "use a new key for a new request.",
                errors=[{"field": "Idempotency-Key", "message": "used with another body"}],
            )
        if row.status == IdempotencyKey.Status.COMPLETED:
            return None
        stale = timezone.now() - timedelta(seconds=LEASE_SECONDS)
        taken = IdempotencyKey.objects.filter(
            pk=row.pk, status=IdempotencyKey.Status.PROCESSING, locked_at__lt=stale
        ).update(locked_at=timezone.now())
        if taken:
            row.refresh_from_db()
            return row
        if time.monotonic() > deadline:
            raise Problem(
                409,
                "idempotency-key-in-use",
                "Request with this Idempotency-Key in progress",
                "A request with this Idempotency-Key is still being processed; "
                "retry in a moment to get its response.",
                headers={"Retry-After": "1"},
            )
        time.sleep(POLL_SECONDS)


def stored_response(*, client: ApiClient, key: str) -> HttpResponse:
    """The first response to `key`, again: same status, same bytes, same headers."""
    row = IdempotencyKey.objects.get(client=client, key=key)
    response = HttpResponse(row.response_body.encode(), status=row.response_status)
    for name, value in row.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def complete(row: IdempotencyKey, response: HttpResponse) -> None:
    """Store `response` as the key's answer; call in the transaction that did the work."""
    row.status = IdempotencyKey.Status.COMPLETED
    row.response_status = response.status_code
    row.response_body = response.content.decode()
    row.response_headers = {name: response[name] for name in REPLAYED_HEADERS if name in response}
    row.save(update_fields=["status", "response_status", "response_body", "response_headers"])


def release(row: IdempotencyKey) -> None:
    """Give the key up: the request did nothing, so a retry with it starts afresh."""
    IdempotencyKey.objects.filter(pk=row.pk, status=IdempotencyKey.Status.PROCESSING).delete()


def purge_expired() -> int:
    """Delete keys older than ORDERLY_API_IDEMPOTENCY_HOURS; returns how many went."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expires_before()).delete()
    return deleted
