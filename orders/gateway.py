"""Client for the payment gateway's HTTP API (the sandbox in dev and tests).

The card number never comes here: the shopper's browser tokenizes it at the
gateway and the shop holds only the single-use token (`pm_...`).
`retrieve_payment_method` asks the gateway what a token is (brand, last4) and
refuses one that is unknown, another account's, used or expired
(PaymentMethodUnusable). `charge` maps every outcome to one of three: a
ChargeResult, PaymentDeclined (a PermanentError, never retried) or
TemporaryError (retried by the task).
`find_charge` asks what happened to an idempotency key and `refund` gives a
charge's money back; both raise TemporaryError for any answer that is not
clear, so a caller never acts on a guess.
"""

import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from jobs import transport
from jobs.errors import PermanentError, TemporaryError

from .errors import PaymentDeclined, PaymentMethodUnusable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentMethod:
    """A card as the gateway reports it for a token: all the shop may know of it."""

    token: str
    last4: str
    brand: str


@dataclass(frozen=True)
class ChargeResult:
    charge_id: str


@dataclass(frozen=True)
class ChargeLookup:
    """What the gateway says happened to an idempotency key."""

    CHARGED = "charged"
    DECLINED = "declined"
    NONE = "none"  # the gateway confirms nothing was charged with this key

    outcome: str
    charge_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    reference: str = ""
    refunded: bool = False


@dataclass(frozen=True)
class RefundResult:
    refund_id: str


class UnclearAnswer(TemporaryError):
    """The gateway answered something we cannot read; treated as "unknown", asked again later."""


def _headers(idempotency_key: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {settings.PAYMENT_GATEWAY_API_KEY}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _json_object(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UnclearAnswer(
            f"payment gateway answered {response.status_code} without a JSON object: "
            f"{response.text[:200]!r}"
        )
    return body


# What a gateway token looks like; anything else never reaches the gateway's URL.
TOKEN = re.compile(r"pm_[A-Za-z0-9_-]{8,60}")
UNUSABLE_MESSAGES = {
    "used": "This card entry was already used. Please enter your card again.",
    "expired": "Your card entry has expired. Please enter your card again.",
}


def retrieve_payment_method(*, token: str) -> PaymentMethod:
    """What the gateway says the token is; PaymentMethodUnusable if it cannot pay.

    A token the gateway does not know for this account (made up, or made with
    another shop's key) answers 404, as do real gateways. Raises
    TemporaryError when the gateway cannot be reached or answers 5xx.
    """
    if not TOKEN.fullmatch(token):
        raise PaymentMethodUnusable("Please enter your card again.")
    response = transport.request(
        "GET",
        f"{settings.PAYMENT_GATEWAY_URL}/payment_methods/{token}",
        service="payment gateway",
        headers=_headers(),
        timeout=settings.PAYMENT_GATEWAY_TIMEOUT,
    )
    if response.status_code == 404:
        raise PaymentMethodUnusable(
            "We could not use that card entry. Please enter your card again."
        )
    if response.status_code != 200:
        raise UnclearAnswer(
            f"payment gateway answered the token lookup with {response.status_code}"
        )
    body = _json_object(response)
    card = body.get("card") if isinstance(body.get("card"), dict) else {}
    if body.get("id") != token or not str(card.get("last4", "")).isdigit():
        raise UnclearAnswer(f"payment gateway's token answer is unreadable: {body!r:.200}")
    if body.get("status") != "usable":
        raise PaymentMethodUnusable(
            UNUSABLE_MESSAGES.get(body.get("status"), UNUSABLE_MESSAGES["used"])
        )
    return PaymentMethod(
        token=token, last4=str(card["last4"])[-4:], brand=str(card.get("brand", ""))[:20]
    )


def charge(
    *, amount: Decimal, currency: str, payment_method: str, idempotency_key: str, reference: str
) -> ChargeResult:
    """Charge a payment-method token once per idempotency key, however often it is called."""
    response = transport.request(
        "POST",
        f"{settings.PAYMENT_GATEWAY_URL}/charges",
        service="payment gateway",
        json={
            "amount": str(amount),
            "currency": currency,
            "payment_method": payment_method,
            "reference": reference,
        },
        headers=_headers(idempotency_key),
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


def find_charge(*, idempotency_key: str) -> ChargeLookup:
    """Ask the gateway what happened to `idempotency_key`.

    Returns CHARGED, DECLINED or NONE (the gateway says no charge was made
    with the key). Raises TemporaryError when the gateway cannot be reached,
    is still processing a request with the key (409), or answers anything
    else; UnclearAnswer (a TemporaryError) when the answer cannot be read.
    """
    response = transport.request(
        "GET",
        f"{settings.PAYMENT_GATEWAY_URL}/charges",
        service="payment gateway",
        params={"idempotency_key": idempotency_key},
        headers=_headers(),
        timeout=settings.PAYMENT_GATEWAY_TIMEOUT,
    )
    if response.status_code == 409:
        raise TemporaryError(
            "payment gateway is still processing a charge with this key",
            retry_after=transport.parse_retry_after(response.headers.get("Retry-After")),
        )
    if response.status_code != 200:
        raise UnclearAnswer(f"payment gateway answered the lookup with {response.status_code}")
    body = _json_object(response)
    charges = body.get("data")
    if body.get("idempotency_key") != idempotency_key or not isinstance(charges, list):
        raise UnclearAnswer(f"payment gateway's lookup answer is not about this key: {body!r:.200}")
    if not charges:
        return ChargeLookup(ChargeLookup.NONE)
    if len(charges) > 1:
        raise UnclearAnswer(f"payment gateway lists {len(charges)} charges for one key")
    found = charges[0]
    status = found.get("status") if isinstance(found, dict) else None
    if status not in ("succeeded", "declined") or not found.get("id"):
        raise UnclearAnswer(f"payment gateway's charge is unreadable: {found!r:.200}")
    try:
        amount = Decimal(str(found.get("amount")))
    except ArithmeticError:
        raise UnclearAnswer(
            f"payment gateway's charge amount is unreadable: {found!r:.200}"
        ) from None
    return ChargeLookup(
        ChargeLookup.CHARGED if status == "succeeded" else ChargeLookup.DECLINED,
        charge_id=str(found["id"]),
        amount=amount,
        currency=str(found.get("currency", "")),
        reference=str(found.get("reference", "")),
        refunded=bool(found.get("refunded")),
    )


def refund(*, charge_id: str, idempotency_key: str) -> RefundResult:
    """Refund a charge in full, once per `idempotency_key` (and once per charge).

    A charge already refunded under another key answers 409 with that
    refund, which is the same outcome. Raises TemporaryError (unreachable,
    5xx, unreadable) or PermanentError (the gateway refuses: unknown or
    declined charge).
    """
    response = transport.request(
        "POST",
        f"{settings.PAYMENT_GATEWAY_URL}/refunds",
        service="payment gateway",
        json={"charge": charge_id},
        headers=_headers(idempotency_key),
        timeout=settings.PAYMENT_GATEWAY_TIMEOUT,
    )
    body = _json_object(response)
    if response.status_code == 409 and isinstance(body.get("refund"), dict):
        body = body["refund"]
    elif not 200 <= response.status_code < 300:
        raise PermanentError(
            f"payment gateway refused the refund ({response.status_code}): "
            f"{body.get('message', '')[:200]}"
        )
    if body.get("charge") != charge_id or not body.get("id"):
        raise UnclearAnswer(f"payment gateway's refund answer is unreadable: {body!r:.200}")
    return RefundResult(refund_id=str(body["id"]))
