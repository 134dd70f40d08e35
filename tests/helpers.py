import re
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str, diagnostics=None):
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            extra = f"\n{diagnostics()}" if diagnostics else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(0.1)


# The checkout form's fields but the card: that goes as a token from the gateway,
# {**CHECKOUT, "payment_method": card_token()} (the card_token fixture, or tokenize()).
CHECKOUT = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "shipping_address": "12 Analytical Row\nLondon",
}
SUCCEEDING_CARD = "4242 4242 4242 4242"


def tokenize(gateway_url: str, number: str = SUCCEEDING_CARD, *, publishable_key=None) -> str:
    """A single-use token for `number` from the gateway's tokenization endpoint, over HTTP.

    What the checkout page's script does in a browser; `publishable_key`
    defaults to the shop's (another account's makes a token the shop cannot use).
    """
    import requests
    from django.conf import settings

    key = publishable_key or settings.PAYMENT_GATEWAY_PUBLISHABLE_KEY
    response = requests.post(
        f"{gateway_url}/payment_methods",
        json={"card": {"number": number}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def checkout_form(card_number: str = SUCCEEDING_CARD, **fields) -> dict:
    """The checkout form's POST data, with a fresh token for `card_number` from the gateway.

    Tokenized over HTTP at settings.PAYMENT_GATEWAY_URL (the `gateway`
    fixture points it at the live server), as the checkout page's script does.
    """
    from django.conf import settings

    return {
        **CHECKOUT,
        "payment_method": tokenize(settings.PAYMENT_GATEWAY_URL, card_number),
        **fields,
    }


def sandbox_payment_method(number: str = SUCCEEDING_CARD):
    """A card token made in the sandbox gateway directly (no HTTP), as the gateway reports it.

    For tests that call orders.services without a browser or a checkout POST;
    the charge itself still goes to the sandbox over HTTP.
    """
    from orders.gateway import PaymentMethod
    from sandbox import gateway

    method = gateway.create_payment_method(
        account=gateway.SHOP_ACCOUNT, card_number=number.replace(" ", "")
    )
    return PaymentMethod(token=method.token, last4=method.last4, brand=method.brand)


def documented_defaults() -> dict[str, str]:
    """NAME=value lines of .env.example: what a deployment runs with unless told otherwise.

    The test run overrides some settings (fast retries); checks of timing
    invariants use these instead.
    """
    from pathlib import Path

    lines = (Path(__file__).resolve().parent.parent / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line))
