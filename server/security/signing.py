"""HMAC-signed, self-contained tokens.

Why tokens instead of rows: CalculateReceipt must write nothing, and any worker process must
accept a token another worker issued. A token carries its payload and an HMAC over it under
the server's secret, with a purpose label so a token of one kind can never pass as another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from server.errors import invalid
from server.security.sealing import Sealer

MAC_BYTES = 16
# Compact, and made once (json.dumps builds an encoder per call when given options). No
# sort_keys: the MAC covers these exact bytes, nobody re-encodes a payload to compare.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks JSON payloads for one server secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the server secret must be at least 32 bytes")
        self._secret = secret

    def _mac(self, purpose: str, body: bytes) -> bytes:
        return hmac.new(self._secret, purpose.encode() + b"\0" + body, hashlib.sha256).digest()[
            :MAC_BYTES
        ]

    def derive_key(self, purpose: str) -> bytes:
        """A key of its own for `purpose` (e.g. the MAC of unsubscribe links computed in SQL),
        so the server secret itself never leaves this object."""
        return hmac.new(self._secret, b"key\0" + purpose.encode(), hashlib.sha256).digest()

    def sealer(self, purpose: str) -> Sealer:
        """AES-GCM sealing for `purpose` under a key HKDF-derived from the server secret
        (server/security/sealing.py), so the secret itself never leaves this object."""
        return Sealer(self._secret, purpose)

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        body = _ENCODER.encode(payload).encode()
        return f"{_b64(body)}.{_b64(self._mac(purpose, body))}"

    def verify(self, purpose: str, token: str, field_path: str) -> dict[str, Any]:
        """The payload of a genuine token, or INVALID_ARGUMENT naming `field_path`."""
        try:
            body_text, mac_text = token.split(".")
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (ValueError, TypeError):
            raise invalid(field_path, "malformed token", "TOKEN_INVALID") from None
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise invalid(field_path, "token was not issued by this server or was altered",
                          "TOKEN_INVALID")
        payload: dict[str, Any] = json.loads(body)  # we signed it: always an object
        return payload

    def sign_binary(self, purpose: str, body: bytes) -> str:
        """A binary payload and its MAC as ONE base64url string (no '.', unlike `sign`).
        The body should start with a version byte of its format so it can change later."""
        return _b64(body + self._mac(purpose, body))

    def verify_binary(self, purpose: str, token: str, field_path: str) -> bytes:
        """The body of a genuine `sign_binary` token, or INVALID_ARGUMENT naming `field_path`."""
        try:
            raw = _unb64(token)
        except (ValueError, TypeError):
            raise invalid(field_path, "malformed token", "TOKEN_INVALID") from None
        body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if not body or not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise invalid(field_path, "token was not issued by this server or was altered",
                          "TOKEN_INVALID")
        return body
