"""Keep secrets out of what operators read, but not out of what a requeue replays.

Dead letters store task arguments twice: redacted, for people to read, and
encrypted, for requeue to replay. The encryption is a MultiFernet over one
key derived from SECRET_KEY and one from each of SECRET_KEY_FALLBACKS, in
that order: sealing uses the current key, unsealing tries each. After a
rotation (the old key moved to DJANGO_SECRET_KEY_FALLBACKS) the dead letters
sealed under the old key still requeue, as Django's own signed values do.
"""

import base64
import hashlib
import json
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

REDACTED = "[redacted]"
# Bare card numbers passed positionally are caught by shape, not by name.
_CARD_NUMBER = re.compile(r"^\d{12,19}$")
# Unchanged since the first sealed dead letter: changing it would strand them all.
_KEY_PURPOSE = "orderly-dead-letters"


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


def _derived_key(secret_key: str) -> Fernet:
    digest = hashlib.sha256(f"{_KEY_PURPOSE}:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    """The current key first (it seals), then each fallback (they only unseal)."""
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_derived_key(key) for key in secret_keys])


def seal(payload) -> str:
    """Encrypt `payload` (JSON-safe) under the key derived from the current SECRET_KEY."""
    return _fernet().encrypt(json.dumps(payload).encode()).decode()


class CannotUnseal(Exception):
    """No key derived from SECRET_KEY or SECRET_KEY_FALLBACKS opens the sealed value."""


def unseal(token: str):
    """Decrypt what `seal` returned, under the current key or any fallback key."""
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CannotUnseal(
            "The stored arguments cannot be decrypted with SECRET_KEY or any key in "
            "SECRET_KEY_FALLBACKS (was SECRET_KEY rotated without keeping the old key in "
            "DJANGO_SECRET_KEY_FALLBACKS?)."
        ) from None
