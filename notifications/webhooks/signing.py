"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the
signature is `v1,` + base64(HMAC-SHA256(secret, content)), where the secret
is the base64 part of a `whsec_...` string.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32  # the spec allows 24 to 64


def generate_secret() -> str:
    """A new endpoint secret in the `whsec_<base64>` form receivers' libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one request."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secret: str, message_id: str, timestamp: int, body: bytes) -> dict:
    """The three Standard Webhooks headers plus the content type."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }


class InvalidSignature(Exception):
    """A received webhook whose headers do not verify."""


def verify(*, secret: str, headers, body: bytes, now: int, tolerance: int = 300) -> None:
    """Check a received webhook (used by the sandbox receiver); raises InvalidSignature.

    Refuses timestamps more than `tolerance` seconds from `now` (replays) and
    accepts any of the space-separated `v1,` signatures (secret rotation).
    """
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        given = headers["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("missing or malformed webhook headers") from exc
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("timestamp too far from now")
    expected = signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given):
        raise InvalidSignature("no matching signature")
