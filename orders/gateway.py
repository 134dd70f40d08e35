"""Client for the payment gateway's HTTP API (the sandbox in dev and tests).

Maps every outcome to one of three: a ChargeResult, PaymentDeclined (a
PermanentError, never retried) or TemporaryError (retried by the task).
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

import requests
from django.conf import settings

from jobs.errors import PermanentError, TemporaryError

from .errors import PaymentDeclined

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChargeResult:
    charge_id: str


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def charge(
    *, amount: Decimal, currency: str, card_number: str, idempotency_key: str, reference: str
) -> ChargeResult:
    """Charge a card once per idempotency key, however often it is called."""
    try:
        response = requests.post(
            f"{settings.PAYMENT_GATEWAY_URL}/charges",
            json={
                "amount": str(amount),
                "currency": currency,
                "card_number": card_number,
                "reference": reference,
            },
            headers={
                "Authorization": f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}",
                "Idempotency-Key": idempotency_key,
            },
            timeout=settings.PAYMENT_GATEWAY_TIMEOUT,
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise TemporaryError(f"payment gateway timed out: {exc}") from exc
    except requests.ConnectionError as exc:
        raise TemporaryError(f"payment gateway unreachable: {exc}") from exc

    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryError(
            f"payment gateway answered {response.status_code}",
            retry_after=_retry_after(response),
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 402:
        raise PaymentDeclined(body.get("message") or "Your card was declined.")
    if not 200 <= response.status_code < 300 or "id" not in body:
        raise PermanentError(
            f"payment gateway answered {response.status_code}: {response.text[:200]}"
        )
    return ChargeResult(charge_id=body["id"])
