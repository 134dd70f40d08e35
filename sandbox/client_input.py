"""What the sandbox accepts from a client: parsed and checked before anything is stored.

The sandbox runs in dev and compose, where any local program can call it, so
it refuses what it cannot handle with a 400 and a message: a body that is
not UTF-8 JSON, nested deeper than MAX_DEPTH (the json module recurses and
would raise RecursionError), NaN or Infinity, a number past a column, or text
PostgreSQL cannot store (NUL) or that would not fit its column.
"""

import json
import re
from decimal import Decimal, InvalidOperation

from safetext.validators import first_control_character, is_ascii_digits

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32
# GatewayCharge.amount is numeric(12, 2).
MAX_AMOUNT = Decimal("9999999999.99")
CURRENCY = re.compile(r"[A-Z]{3}")


class BadRequest(Exception):
    """The request cannot be handled; the message says why (answered as a 400)."""


def _refuse_constant(name: str):
    raise BadRequest(f"{name} is not a number this API accepts")


def _nesting_depth_exceeds(text: str, limit: int) -> bool:
    """True if brackets nest deeper than `limit` (outside strings), without recursing."""
    depth, in_string, escaped = 0, False, False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > limit:
                return True
        elif character in "]}":
            depth -= 1
    return False


def parse_json_object(body: bytes) -> dict:
    """The body as a JSON object, numbers as Decimal; BadRequest for anything else."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"Body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Body must be UTF-8 JSON") from None
    if _nesting_depth_exceeds(text, MAX_DEPTH):
        raise BadRequest(f"Body nests deeper than {MAX_DEPTH} levels")
    try:
        payload = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("Body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise BadRequest("Body must be a JSON object")
    return payload


def clean_text(value, *, name: str, max_length: int, required: bool = False) -> str:
    """A text field that PostgreSQL can store in a varchar(max_length)."""
    if value is None or value == "":
        if required:
            raise BadRequest(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if first_control_character(value) is not None:
        raise BadRequest(f"{name} must not contain control characters")
    if len(value) > max_length:
        raise BadRequest(f"{name} must be at most {max_length} characters")
    return value


def clean_amount(value) -> Decimal:
    """A positive amount with at most two decimals that fits numeric(12, 2)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise BadRequest("amount must be a number or a decimal string")
    if isinstance(value, str) and len(value) > 40:
        raise BadRequest("amount is too long")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadRequest("amount must be a decimal number") from None
    if not amount.is_finite():
        raise BadRequest("amount must be finite")
    if not Decimal("0.01") <= amount <= MAX_AMOUNT:
        raise BadRequest(f"amount must be between 0.01 and {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.01")):
        raise BadRequest("amount has more than two decimal places")
    return amount.quantize(Decimal("0.01"))


def clean_currency(value) -> str:
    if not isinstance(value, str) or not CURRENCY.fullmatch(value):
        raise BadRequest("currency must be three capital letters, e.g. EUR")
    return value


class CardNumberError(Exception):
    """A card number the gateway cannot take; `code` says why, the message says it to a shopper."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def luhn_valid(number: str) -> bool:
    """The card-number checksum every real card number satisfies."""
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(number)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def clean_card_number(value) -> str:
    """A card number as ASCII digits (spaces and dashes dropped); CardNumberError if not one."""
    if isinstance(value, str) and len(value) <= 23:
        value = re.sub(r"[ -]", "", value)
    if not isinstance(value, str) or not is_ascii_digits(value) or not 12 <= len(value) <= 19:
        raise CardNumberError("Enter the card number: 12 to 19 digits.", code="invalid_number")
    if not luhn_valid(value):
        raise CardNumberError(
            "That card number is not valid. Check for a typo.", code="incorrect_number"
        )
    return value


def clean_small_int(value, *, name: str, default: int, maximum: int) -> int:
    """A query parameter that must be a whole number from 1 to `maximum` (ASCII digits)."""
    if value is None or value == "":
        return default
    if not is_ascii_digits(value) or len(value) > len(str(maximum)) or int(value) > maximum:
        raise BadRequest(f"{name} must be a whole number from 1 to {maximum}")
    return max(int(value), 1)
