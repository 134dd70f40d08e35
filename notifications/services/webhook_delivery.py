"""Sending one webhook delivery: the HTTP attempt, its log, and the retry decision.

See services.py for how deliveries are created and dispatched; every
retry here is only a new `next_attempt_at` on the row.
"""

import json
import logging
import random
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.requeue import NothingDone, RequeueRefused
from jobs.transport import parse_retry_after

from ..lock_objects import OPEN_STATUSES, lock_delivery, lock_endpoint
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..webhooks import safe_http, signing
from .webhooks import DISPATCH_LEASE_SECONDS, disable_endpoint

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 24 * 3600
RESPONSE_BODY_LIMIT = 1000


class Outcome:
    SUCCEEDED = "succeeded"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"  # not retried (3xx, 4xx, unsafe address)
    EXHAUSTED = "exhausted"  # retried on the whole schedule
    GONE = "gone"  # 410: endpoint disabled
    # Already final, or a stale/duplicate task message: deliver() returns
    # jobs.requeue.NothingDone with the reason instead of an Outcome.


def retry_delay(*, attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones; None when exhausted.

    The schedule entry with +/-20 % jitter (so many endpoints' retries do not
    arrive in waves), and never less than a Retry-After the receiver sent.
    """
    schedule = settings.ORDERLY_WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    delay = float(schedule[attempts - 1]) * random.uniform(0.8, 1.2)  # noqa: S311 (not crypto)
    if retry_after:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def _claim(delivery_id: int, attempt: int) -> WebhookDelivery | NothingDone:
    """Lock the row, check the message is current, count the attempt; else why not."""
    with transaction.atomic():
        delivery = lock_delivery(delivery_id)
        if delivery is None:
            return NothingDone(f"webhook delivery #{delivery_id} no longer exists")
        if delivery.status not in OPEN_STATUSES:
            return NothingDone(f"webhook delivery #{delivery_id} is already {delivery.status}")
        if delivery.attempts != attempt:  # a duplicate or stale message
            return NothingDone(
                f"webhook delivery #{delivery_id}: attempt {attempt + 1} was already made"
            )
        if not delivery.endpoint.is_active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "endpoint disabled"
            delivery.completed_at = timezone.now()
            delivery.save(update_fields=["status", "last_error", "completed_at"])
            return NothingDone(f"webhook delivery #{delivery_id}: its endpoint is disabled")
        delivery.attempts += 1
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=DISPATCH_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def reopen_for_requeue(args: list, kwargs: dict) -> tuple[list, dict]:
    """Requeue preparer of deliver_webhook: a failed delivery gets one more attempt.

    Runs in the requeue's transaction (jobs.requeue). The new message carries
    the delivery's current attempt count, so it is the one current message;
    the dispatch lease keeps dispatch_due_webhooks from sending it as well.
    """
    delivery = lock_delivery(args[0])
    if delivery is None:
        raise RequeueRefused(f"Webhook delivery #{args[0]} no longer exists.")
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        raise RequeueRefused(
            f"Webhook delivery #{delivery.pk} was already sent (attempt {delivery.attempts}); "
            "there is nothing to redo."
        )
    if delivery.status in OPEN_STATUSES:
        raise RequeueRefused(
            f"Webhook delivery #{delivery.pk} is still {delivery.status} and is sent on its own "
            "schedule; requeue it if it fails for good."
        )
    if not delivery.endpoint.is_active:
        raise RequeueRefused(
            f"The endpoint {delivery.endpoint.url} is disabled; enable it in admin first."
        )
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=DISPATCH_LEASE_SECONDS)
    delivery.completed_at = None
    delivery.save(update_fields=["status", "next_attempt_at", "completed_at"])
    return [delivery.pk, delivery.attempts], kwargs


def _send(delivery: WebhookDelivery) -> tuple[int | None, str, str, float | None, bool]:
    """One HTTP attempt: (status code, trimmed body, error, Retry-After, retryable)."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = signing.signed_headers(
        secret=endpoint.secret,
        message_id=delivery.event_id,
        timestamp=int(time.time()),
        body=body,
    )
    try:
        checked = safe_http.check_url(endpoint.url)
    except safe_http.UnsafeWebhookURL as exc:
        return None, "", str(exc), None, False
    except safe_http.HostLookupFailed as exc:
        return None, "", str(exc), None, True
    try:
        response = safe_http.post(
            checked, body=body, headers=headers, timeout=settings.ORDERLY_WEBHOOK_TIMEOUT
        )
    except safe_http.RefusedAtConnect as exc:  # e.g. the name now resolves to a private address
        return None, "", str(exc), None, False
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {exc}", None, True
    try:
        text = response.raw.read(RESPONSE_BODY_LIMIT, decode_content=True) or b""
    except Exception:  # a body that breaks off is no reason to lose the status code
        text = b""
    finally:
        response.close()
    code = response.status_code
    text = text.decode("utf-8", errors="replace")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    error = ""
    if 300 <= code < 400:
        location = response.headers.get("Location", "")
        error = f"redirect ({code} to {location[:200]}) not followed"
    elif code >= 400:
        error = f"HTTP {code}"
    retryable = code == 429 or code >= 500
    return code, text, error, retry_after, retryable


def deliver(*, delivery_id: int, attempt: int) -> str:
    """Send one delivery once (for the `attempt`-th time) and record the outcome.

    2xx succeeds; 410 disables the endpoint; 429, 5xx and network errors
    schedule a retry on the row (ORDERLY_WEBHOOK_RETRY_SCHEDULE, honouring
    Retry-After) until the schedule is used up (EXHAUSTED); 3xx, other 4xx
    and unsafe addresses fail at once. ORDERLY_WEBHOOK_DISABLE_AFTER_FAILURES
    failed attempts in a row disable the endpoint. Returns an Outcome, or
    NothingDone with the reason when the message is not current.
    """
    delivery = _claim(delivery_id, attempt)
    if isinstance(delivery, NothingDone):
        return delivery
    started = time.monotonic()
    code, text, error, retry_after, retryable = _send(delivery)
    duration_ms = int((time.monotonic() - started) * 1000)
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=code,
            duration_ms=duration_ms,
            response_body=text[:RESPONSE_BODY_LIMIT],
            error=error[:500],
        )
        endpoint_id = delivery.endpoint_id
        if code is not None and 200 <= code < 300:
            outcome, status, next_at = Outcome.SUCCEEDED, WebhookDelivery.Status.SUCCEEDED, None
            WebhookEndpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=0)
        else:
            delay = retry_delay(attempts=delivery.attempts, retry_after=retry_after)
            if code == 410:
                outcome, status, next_at = Outcome.GONE, WebhookDelivery.Status.FAILED, None
                disable_endpoint(endpoint_id=endpoint_id, reason="The receiver answered 410 Gone.")
            elif retryable and delay is not None:
                outcome = Outcome.RETRY_SCHEDULED
                status, next_at = WebhookDelivery.Status.RETRYING, now + timedelta(seconds=delay)
            elif retryable:
                outcome, status, next_at = Outcome.EXHAUSTED, WebhookDelivery.Status.FAILED, None
            else:
                outcome, status, next_at = Outcome.FAILED, WebhookDelivery.Status.FAILED, None
            _count_failure(endpoint_id)
        delivery.status = status
        delivery.next_attempt_at = next_at
        delivery.last_error = error[:500]
        if status in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED):
            delivery.completed_at = now
        delivery.save(update_fields=["status", "next_attempt_at", "last_error", "completed_at"])
    logger.info(
        "webhook delivery #%s (%s) attempt %d: %s %s",
        delivery.pk, delivery.event_type, delivery.attempts, code or "-", outcome,
    )  # fmt: skip
    return outcome


def _count_failure(endpoint_id: int) -> None:
    endpoint = lock_endpoint(endpoint_id)
    endpoint.consecutive_failures += 1
    endpoint.save(update_fields=["consecutive_failures"])
    limit = settings.ORDERLY_WEBHOOK_DISABLE_AFTER_FAILURES
    if endpoint.is_active and endpoint.consecutive_failures >= limit:
        disable_endpoint(
            endpoint_id=endpoint_id,
            reason=f"{endpoint.consecutive_failures} failed attempts in a row.",
        )
