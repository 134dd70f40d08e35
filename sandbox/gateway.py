"""The sandbox payment gateway's behaviour, chosen by test card number.

Like a real gateway, a charge is stored per Idempotency-Key and the same
key always gets the same answer, however often it is sent. A client can
ask what happened to a key (lookup_charges) and refund a charge, once per
refund key (handle_refund).
"""

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import client_input
from .client_input import BadRequest
from .models import GatewayCharge, GatewayRefund, GatewayRequest

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
UNAVAILABLE_TWICE = "4000000000000119"  # 503 for the first two attempts, then success
SLOW = "4000000000000259"  # answers after SANDBOX_SLOW_CARD_SECONDS


def test_card_descriptions() -> dict[str, str]:
    """{card number: what it does}, for the sandbox page."""
    return {
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


@dataclass(frozen=True)
class ChargeRequest:
    """A charge request that has passed every check (client_input), so it can be stored."""

    amount: Decimal
    currency: str
    card_number: str
    reference: str

    @classmethod
    def from_payload(cls, payload: dict) -> "ChargeRequest":
        if "amount" not in payload or "currency" not in payload:
            raise BadRequest("amount and currency are required")
        return cls(
            amount=client_input.clean_amount(payload["amount"]),
            currency=client_input.clean_currency(payload["currency"]),
            card_number=client_input.clean_card_number(payload.get("card_number")),
            reference=client_input.clean_text(
                payload.get("reference"), name="reference", max_length=120
            ),
        )


# A request still unanswered after this long died with its server process.
IN_FLIGHT_SECONDS = 60


def handle_charge(*, idempotency_key: str, payload: dict) -> Answer:
    """Answer a charge request; BadRequest (nothing stored) if it is not one we can take."""
    idempotency_key = client_input.clean_text(
        idempotency_key, name="Idempotency-Key header", max_length=120, required=True
    )
    charge = ChargeRequest.from_payload(payload)
    if settings.SANDBOX_GATEWAY_LATENCY_MS:
        time.sleep(settings.SANDBOX_GATEWAY_LATENCY_MS / 1000)
    request = GatewayRequest.objects.create(idempotency_key=idempotency_key)
    answer = _answer(idempotency_key, charge)
    GatewayRequest.objects.filter(pk=request.pk).update(status_code=answer.status)
    return answer


def _answer(idempotency_key: str, charge: ChargeRequest) -> Answer:
    stored = GatewayCharge.objects.filter(idempotency_key=idempotency_key).first()
    if stored:
        return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})
    card = charge.card_number

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
                reference=charge.reference,
                amount=charge.amount,
                currency=charge.currency,
                card_last4=card[-4:],
                status_code=status,
                response=body,
            )
    except IntegrityError:  # a concurrent request with the same key won
        stored = GatewayCharge.objects.get(idempotency_key=idempotency_key)
        return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})
    return Answer(status, body)


def lookup_charges(*, idempotency_key: str) -> Answer:
    """What happened to this key: the charge made with it, or none.

    While a charge request with the key is still being processed, the
    answer is 409 "in progress" (as real gateways answer a concurrent use
    of a key): "no charge" is said only when none can still appear.
    """
    charge = (
        GatewayCharge.objects.select_related("refund").filter(idempotency_key=idempotency_key)
    ).first()
    if charge:
        return Answer(200, {"idempotency_key": idempotency_key, "data": [charge.as_json()]})
    recent = timezone.now() - timedelta(seconds=IN_FLIGHT_SECONDS)
    in_flight = GatewayRequest.objects.filter(
        idempotency_key=idempotency_key, status_code__isnull=True, received_at__gte=recent
    )
    if in_flight.exists():
        return Answer(
            409,
            {"message": "A request with this Idempotency-Key is in progress."},
            {"Retry-After": "1"},
        )
    return Answer(200, {"idempotency_key": idempotency_key, "data": []})


def handle_refund(*, idempotency_key: str, payload: dict) -> Answer:
    """Refund a successful charge in full, once per refund key and once per charge."""
    stored = (
        GatewayRefund.objects.select_related("charge")
        .filter(idempotency_key=idempotency_key)
        .first()
    )
    if stored:
        return Answer(201, stored.as_json(), {"Idempotent-Replayed": "true"})
    charge = GatewayCharge.objects.filter(charge_id=str(payload.get("charge", ""))).first()
    if charge is None:
        return Answer(404, {"message": "No such charge."})
    if not charge.succeeded:
        return Answer(400, {"message": "A declined charge cannot be refunded."})
    try:
        with transaction.atomic():
            refund = GatewayRefund.objects.create(
                idempotency_key=idempotency_key,
                refund_id=f"re_{secrets.token_hex(8)}",
                charge=charge,
                amount=charge.amount,
            )
    except IntegrityError:  # the charge was refunded already (another key) or a race
        refund = GatewayRefund.objects.select_related("charge").get(charge=charge)
        if refund.idempotency_key != idempotency_key:
            return Answer(409, {"message": "The charge is already refunded.",
                                "refund": refund.as_json()})  # fmt: skip
        return Answer(201, refund.as_json(), {"Idempotent-Replayed": "true"})
    return Answer(201, refund.as_json())
