"""Operator passwords: argon2id hashes (argon2-cffi), a length rule, constant-ish failures.

Hashing costs tens of milliseconds of CPU on purpose; callers run it in a thread
(`asyncio.to_thread`) so the event loop keeps serving other calls meanwhile.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import invalid

# Beyond this a password is more likely a pasted file than a passphrase; argon2 takes any
# length, the limit only keeps one request from making the server hash megabytes.
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


def check_password_rules(password: str, min_length: int, field: str = "password") -> None:
    """Length only (NIST SP 800-63B): composition rules make passwords worse, not better."""
    if len(password) < min_length:
        raise invalid(field, f"at least {min_length} characters", "PASSWORD_TOO_WEAK")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid(field, f"at most {MAX_PASSWORD_LENGTH} characters", "PASSWORD_TOO_WEAK")


def hash_password(password: str) -> str:
    """An argon2id PHC string ($argon2id$v=19$m=...$salt$hash); the salt is random."""
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(stored_hash)


@cache
def _decoy_hash() -> str:
    return _hasher.hash("decoy password for unknown e-mail addresses")


def spend_like_a_check(password: str) -> None:
    """Verify against a decoy so an unknown e-mail answers as slowly as a wrong password."""
    password_matches(_decoy_hash(), password)
