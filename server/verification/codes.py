"""One-time codes: random digits, kept only as a salted HMAC.

Why HMAC with a per-code salt and the verification id: equal codes never share a hash
and a hash cannot be replayed against another verification. A 6-digit code is still
guessable offline from its hash, so what really protects it is the short expiry and the
attempt limit; hashing keeps codes out of backups, replicas and casual SELECTs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

CODE_DIGITS = 6
SALT_BYTES = 16


def generate_code(digits: int = CODE_DIGITS) -> str:
    """A uniformly random code of `digits` digits (leading zeros allowed)."""
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def hash_code(salt: bytes, verification_id: uuid.UUID, code: str) -> bytes:
    """HMAC-SHA256(salt, verification id || code): 32 bytes."""
    return hmac.new(salt, verification_id.bytes + code.encode(), hashlib.sha256).digest()


def code_matches(salt: bytes, verification_id: uuid.UUID, code: str, expected: bytes) -> bool:
    """Constant-time comparison, so timing does not leak how much of a guess was right."""
    return hmac.compare_digest(hash_code(salt, verification_id, code), expected)


def is_well_formed(code: str, digits: int = CODE_DIGITS) -> bool:
    return len(code) == digits and code.isascii() and code.isdigit()
