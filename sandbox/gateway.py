"""The sandbox payment gateway's behaviour, chosen by the test card behind a token.

The shopper's browser sends the card number here (tokenize, with the shop's
publishable key) and gets a single-use payment-method token back; the shop
only ever holds that token and charges by it (handle_charge, with its
secret key). A token belongs to the account whose publishable key made it,
expires unused after PAYMENT_METHOD_TTL, and pays for one charge.

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
from .models import GatewayCharge, GatewayPaymentMethod, GatewayRefund, GatewayRequest

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
UNAVAILABLE_TWICE = "4000000000000119"  # 503 for the first two attempts, then success
SLOW = "4000000000000259"  # answers after SANDBOX_SLOW_CARD_SECONDS
# Retry-After of UNAVAILABLE_TWICE's 503s (a test may want a retry to wait longer).
UNAVAILABLE_RETRY_AFTER = "1"

# The shop's account (PAYMENT_GATEWAY_API_KEY / PAYMENT_GATEWAY_PUBLISHABLE_KEY) and
# another merchant's at the same gateway: its tokens are no use to the shop.
SHOP_ACCOUNT = "shop"
ANOTHER_ACCOUNT = "another-shop"
ANOTHER_ACCOUNT_PUBLISHABLE_KEY = "pk_test_another_shop"
# Longer than the abandoned-order delay (30 min), so a token checked at checkout
# is still good when its charge's retries end.
PAYMENT_METHOD_TTL = timedelta(hours=1)


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
    payment_method: str
    reference: str

    @classmethod
    def from_payload(cls, payload: dict) -> "ChargeRequest":
        if "amount" not in payload or "currency" not in payload:
            raise BadRequest("amount and currency are required")
        return cls(
            amount=client_input.clean_amount(payload["amount"]),
            currency=client_input.clean_currency(payload["currency"]),
            payment_method=client_input.clean_text(
                payload.get("payment_method"), name="payment_method", max_length=40, required=True
            ),
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
    method = GatewayPaymentMethod.objects.filter(
        token=charge.payment_method, account=SHOP_ACCOUNT
    ).first()
    card = method.card_number if method else ""

    if card == UNAVAILABLE_TWICE:
        attempts = GatewayRequest.objects.filter(idempotency_key=idempotency_key).count()
        if attempts <= 2:
            return Answer(
                503,
                {"message": "Temporarily unavailable"},
                {"Retry-After": UNAVAILABLE_RETRY_AFTER},
            )
    if card == SLOW:
        time.sleep(settings.SANDBOX_SLOW_CARD_SECONDS)

    charge_id = f"ch_{secrets.token_hex(8)}"
    refusal = _unusable(method, idempotency_key)
    if refusal or card == DECLINED:
        message = refusal or "Your card was declined."
        status, body = 402, {"id": charge_id, "status": "declined", "message": message}
    else:
        status, body = 201, {"id": charge_id, "status": "succeeded"}
    try:
        with transaction.atomic():
            if method and not refusal and not _use_up(method, idempotency_key):
                # Another charge took the token since it was read: this one is refused.
                status = 402
                body = {"id": charge_id, "status": "declined",
                        "message": "This payment method was already used."}  # fmt: skip
            GatewayCharge.objects.create(
                idempotency_key=idempotency_key,
                charge_id=charge_id,
                reference=charge.reference,
                amount=charge.amount,
                currency=charge.currency,
                card_last4=method.last4 if method else "",
                status_code=status,
                response=body,
            )
    except IntegrityError:  # a concurrent request with the same key won
        stored = GatewayCharge.objects.get(idempotency_key=idempotency_key)
        return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})
    return Answer(status, body)


def _unusable(method: GatewayPaymentMethod | None, idempotency_key: str) -> str:
    """Why this token cannot pay for a new charge with this key; empty if it can."""
    if method is None:
        return "No such payment method."
    if method.used_by_key and method.used_by_key != idempotency_key:
        return "This payment method was already used."
    if not method.used_by_key and method.expires_at <= timezone.now():
        return "This payment method has expired."
    return ""


def _use_up(method: GatewayPaymentMethod, idempotency_key: str) -> bool:
    """Mark the token used by this charge, whatever its outcome; False if another took it.

    A retry with the same key replays the stored answer instead of getting here.
    """
    GatewayPaymentMethod.objects.filter(pk=method.pk, used_by_key="").update(
        used_by_key=idempotency_key, used_at=timezone.now()
    )
    used_by = GatewayPaymentMethod.objects.values_list("used_by_key", flat=True).get(pk=method.pk)
    return used_by == idempotency_key


def card_brand(number: str) -> str:
    """The card network, from the number's leading digits (as gateways report it)."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def account_for_publishable_key(key: str) -> str | None:
    """The account a publishable key belongs to, or None if it is nobody's."""
    if secrets.compare_digest(key, settings.PAYMENT_GATEWAY_PUBLISHABLE_KEY):
        return SHOP_ACCOUNT
    if secrets.compare_digest(key, ANOTHER_ACCOUNT_PUBLISHABLE_KEY):
        return ANOTHER_ACCOUNT
    return None


def create_payment_method(*, account: str, card_number: str) -> GatewayPaymentMethod:
    """Vault a card number for `account` and return its single-use token."""
    return GatewayPaymentMethod.objects.create(
        token=f"pm_{secrets.token_urlsafe(18)}",
        account=account,
        card_number=card_number,
        brand=card_brand(card_number),
        last4=card_number[-4:],
        expires_at=timezone.now() + PAYMENT_METHOD_TTL,
    )


def tokenize(*, account: str, payload: dict) -> Answer:
    """Answer a browser's POST {"card": {"number": ...}}: a token, or the field's error.

    A malformed number is a 400 naming the field (`param`), as real
    gateways answer, so the page can show it next to the card field.
    """
    card = payload.get("card")
    number = card.get("number") if isinstance(card, dict) else None
    try:
        number = client_input.clean_card_number(number)
    except client_input.CardNumberError as error:
        return Answer(
            400,
            {"error": {"type": "card_error", "param": "number", "code": error.code,
                       "message": str(error)}},
        )  # fmt: skip
    method = create_payment_method(account=account, card_number=number)
    return Answer(201, _payment_method_json(method))


def _payment_method_json(method: GatewayPaymentMethod) -> dict:
    if method.used_by_key:
        status = "used"
    elif method.expires_at <= timezone.now():
        status = "expired"
    else:
        status = "usable"
    return {
        "id": method.token,
        "object": "payment_method",
        "card": {"brand": method.brand, "last4": method.last4},
        "status": status,
        "expires_at": method.expires_at.isoformat(),
    }


def retrieve_payment_method(*, token: str) -> Answer:
    """The shop's view of one of its tokens (status usable, used or expired); 404 if not its."""
    method = GatewayPaymentMethod.objects.filter(token=token, account=SHOP_ACCOUNT).first()
    if method is None:  # another account's token is as unknown as a made-up one
        return Answer(404, {"message": "No such payment method."})
    return Answer(200, _payment_method_json(method))


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
