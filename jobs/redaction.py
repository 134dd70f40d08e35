"""Keep secrets out of what operators read, but not out of what a requeue replays.

Dead letters store task arguments twice: redacted, for people to read, and
encrypted (Fernet, key derived from SECRET_KEY), for requeue to replay.
"""

import base64
import hashlib
import json
import re

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

REDACTED = "[redacted]"
# Bare card numbers passed positionally are caught by shape, not by name.
_CARD_NUMBER = re.compile(r"^\d{12,19}$")


def _is_secret_key(key: str) -> bool:
    key = key.lower()
    return any(fragment in key for fragment in settings.ORDERLY_REDACT_KEYS)


def redact(value):
    """A copy of `value` with secret-looking keys and card numbers replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret_key(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str) and _CARD_NUMBER.match(value.replace(" ", "")):
        return REDACTED
    return value


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"orderly-dead-letters:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(payload) -> str:
    return _fernet().encrypt(json.dumps(payload).encode()).decode()


class CannotUnseal(Exception):
    pass


def unseal(token: str):
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CannotUnseal(
            "The stored arguments cannot be decrypted (was SECRET_KEY rotated?)."
        ) from None
