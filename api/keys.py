"""API keys: made once, shown once, stored as a SHA-256 hash, looked up by a public prefix.

A key is `ordy_<prefix>_<secret>` with a 32-byte `secrets.token_urlsafe`
secret. A plain SHA-256 is enough for a random key of that entropy: PBKDF2
and its kin slow down guessing of low-entropy *passwords*; nobody can guess
256 random bits, and a slow hash would cost every API request tens of ms.
"""

import hashlib
import hmac
import secrets

PREFIX = "ordy"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """(key, its lookup prefix, its hash) for a new client."""
    prefix = secrets.token_hex(6)
    key = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


def matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)
