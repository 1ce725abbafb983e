"""LiqPay's envelope: ``data`` = base64(JSON), ``signature`` = base64(sha1(key+data+key)).

The signature covers the exact base64 text that travels, so we sign what we send and
verify what we received before decoding it; comparison is constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from server.plugin_api import InvalidSignatureError


def sign(private_key: str, data: str) -> str:
    """The LiqPay signature of an already base64-encoded ``data`` string."""
    digest = hashlib.sha1((private_key + data + private_key).encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def encode(params: Mapping[str, Any]) -> str:
    """base64 of compact UTF-8 JSON (Cyrillic descriptions stay readable to LiqPay)."""
    text = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def envelope(private_key: str, params: Mapping[str, Any]) -> dict[str, str]:
    """``{"data": ..., "signature": ...}`` ready for a form or a query string."""
    data = encode(params)
    return {"data": data, "signature": sign(private_key, data)}


def verify(private_key: str, data: str, signature: str) -> None:
    """Raise ``InvalidSignatureError`` unless ``signature`` signs ``data``."""
    expected = sign(private_key, data).encode("ascii")
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise InvalidSignatureError("LiqPay signature does not match")


def json_loads(text: str) -> Any:
    """JSON with fractional numbers as ``Decimal``: money never passes through float."""
    return json.loads(text, parse_float=Decimal)


def decode(data: str) -> dict[str, Any]:
    """The JSON object inside ``data``; numbers with a fraction become ``Decimal``."""
    try:
        raw = base64.b64decode(data, validate=True)
        value = json_loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"LiqPay data is not base64 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("LiqPay data is not a JSON object")
    return value


def open_envelope(private_key: str, form: Mapping[str, str]) -> dict[str, Any]:
    """Verify then decode a ``{data, signature}`` form; never decode before verifying."""
    data, signature = form.get("data"), form.get("signature")
    if not isinstance(data, str) or not isinstance(signature, str) or not data:
        raise InvalidSignatureError("LiqPay callback needs both data and signature")
    verify(private_key, data, signature)
    return decode(data)
