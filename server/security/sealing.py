"""Sealed bytes at rest: AES-256-GCM under a key HKDF-derived from the server secret.

Why: a mutating RPC's first answer is stored for its retries (idempotency_records), and some
answers carry a secret shown once (CreateApiKey's and RotateApiKey's key secret, EnrolTotp's
TOTP secret). Stored in clear, anyone reading that table, a dump or a backup of it would
hold live credentials. Sealed, the row is useless without the server secret; a retry still
gets the very answer (the secret the caller never received) because the server opens it.

The key is derived per purpose with HKDF-SHA256 from the server secret (the one the token
Signer holds), so it is never the signing key itself. A sealed value is a version byte,
a 12-byte random nonce and the AES-GCM ciphertext with its tag; the caller's associated
data (for idempotency: the principal and request ids) binds it to its row, so a sealed
answer copied to another row does not open. The server secret lives in the same database
(server_secrets): sealing protects the answers against a leak of this table, its dumps and
logs, not against someone holding the whole database.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12


def hkdf_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """A key of `length` bytes for `purpose`, derived from `secret` with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=b"kopilka\0" + purpose.encode()).derive(secret)


class Sealer:
    """Seals and opens bytes for one purpose; also a keyed digest for the same purpose."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._aead = AESGCM(hkdf_key(secret, purpose + "/aes-gcm"))
        self._mac_key = hkdf_key(secret, purpose + "/hmac")

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        """The plaintext; ValueError when it was not sealed by this key for this data."""
        if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES:
            raise ValueError("not a sealed value")
        nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, associated)
        except InvalidTag:
            raise ValueError("sealed value altered or sealed under another key") from None

    def digest(self, data: bytes) -> bytes:
        """HMAC-SHA256 of `data`: a digest of a request carrying a password cannot be
        brute-forced offline from the stored row without the server secret."""
        return hmac.new(self._mac_key, data, hashlib.sha256).digest()
