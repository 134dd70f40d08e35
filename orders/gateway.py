"""Client for the payment gateway's HTTP API (the sandbox in dev and tests).

Maps every outcome to one of three: a ChargeResult, PaymentDeclined (a
PermanentError, never retried) or TemporaryError (retried by the task).
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from jobs import http
from jobs.errors import PermanentError

from .errors import PaymentDeclined

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChargeResult:
    charge_id: str


def charge(
    *, amount: Decimal, currency: str, card_number: str, idempotency_key: str, reference: str
) -> ChargeResult:
    """Charge a card once per idempotency key, however often it is called."""
    response = http.request(
        "POST",
        f"{settings.PAYMENT_GATEWAY_URL}/charges",
        service="payment gateway",
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
