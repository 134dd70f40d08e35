"""The sandbox payment gateway's behaviour, chosen by test card number.

Like a real gateway, a charge is stored per Idempotency-Key and the same
key always gets the same answer, however often it is sent.
"""

import secrets
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import GatewayCharge, GatewayRequest

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
UNAVAILABLE_TWICE = "4000000000000119"  # 503 for the first two attempts, then success
SLOW = "4000000000000259"  # answers after SANDBOX_SLOW_CARD_SECONDS
TEST_CARDS = {
    SUCCEEDS: "succeeds",
    DECLINED: "is declined",
    UNAVAILABLE_TWICE: "is temporarily unavailable twice, then succeeds",
    SLOW: f"succeeds after {settings.SANDBOX_SLOW_CARD_SECONDS:g} s",
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    headers: dict | None = None


class BadRequest(Exception):
    pass


def handle_charge(*, idempotency_key: str, payload: dict) -> Answer:
    if settings.SANDBOX_GATEWAY_LATENCY_MS:
        time.sleep(settings.SANDBOX_GATEWAY_LATENCY_MS / 1000)
    request = GatewayRequest.objects.create(idempotency_key=idempotency_key)
    answer = _answer(idempotency_key, payload)
    GatewayRequest.objects.filter(pk=request.pk).update(status_code=answer.status)
    return answer


def _answer(idempotency_key: str, payload: dict) -> Answer:
    stored = GatewayCharge.objects.filter(idempotency_key=idempotency_key).first()
    if stored:
        return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})
    card = str(payload.get("card_number", ""))
    try:
        amount = Decimal(str(payload["amount"]))
        currency = str(payload["currency"])[:3]
    except (KeyError, InvalidOperation):
        raise BadRequest("amount and currency are required") from None
    if not card.isdigit():
        raise BadRequest("card_number must be digits")

    if card == UNAVAILABLE_TWICE:
        attempts = GatewayRequest.objects.filter(idempotency_key=idempotency_key).count()
        if attempts <= 2:
            return Answer(503, {"message": "Temporarily unavailable"}, {"Retry-After": "1"})
    if card == SLOW:
        time.sleep(settings.SANDBOX_SLOW_CARD_SECONDS)

    charge_id = f"ch_{secrets.token_hex(8)}"
    if card == DECLINED:
        status, body = (
            402,
            {"id": charge_id, "status": "declined", "message": "Your card was declined."},
        )
    else:
        status, body = 201, {"id": charge_id, "status": "succeeded"}
    try:
        with transaction.atomic():
            GatewayCharge.objects.create(
                idempotency_key=idempotency_key,
                charge_id=charge_id,
                reference=str(payload.get("reference", ""))[:120],
                amount=amount,
                currency=currency,
                card_last4=card[-4:],
                status_code=status,
                response=body,
            )
    except IntegrityError:  # a concurrent request with the same key won
        stored = GatewayCharge.objects.get(idempotency_key=idempotency_key)
        return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})
    return Answer(status, body)
