"""The Viber wire format, field by field from /work/shared/contracts/viber.md.

Sending (a partner's Business Messages API, contract part B, DecisionTelecom [S17]):
POST JSON to the send URL with header ``X-Viber-Auth-Token`` (A1): ``source_addr`` (the
sender, at most 28 characters, A2), ``destination_addr`` (the phone number, digits),
``message_type`` 106 (transactional: text only) or 108 (promotional: text, image and a
button), ``text`` (at most 1000 characters), ``image`` (URL), ``button_caption`` (at most
30) and ``button_action`` (URL), ``validity_period`` (seconds, 30 to 1,209,600: tyntec
code 20), ``callback_url``. The answer carries ``status`` (0 = ok) and ``message_token``
(A2); other statuses are the partner codes (tyntec [S18]).

Callbacks (A6): POST JSON ``event`` (``delivered``, ``seen``, ``expired`` [S15], ``failed``
with ``desc``), ``timestamp`` (Unix ms), ``message_token``; header
``X-Viber-Content-Signature`` = lowercase hex HMAC-SHA256 of the raw body keyed with the
auth token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from server.plugin_api import DeliveryState, SendStatus

TRANSACTIONAL = 106
PROMOTIONAL = 108
TEXT_MAX = 1000
BUTTON_CAPTION_MAX = 30
TTL_RANGE = (30, 1_209_600)
SIGNATURE_HEADER = "X-Viber-Content-Signature"
TOKEN_HEADER = "X-Viber-Auth-Token"

# Partner status codes (tyntec [S18]): what the outbox does with each.
RETRY_STATUSES = {1: "internal failure", 7: "timeout"}
REJECT_STATUSES = {
    2: "bad service id", 3: "bad data", 5: "bad message type", 6: "bad parameters",
    8: "user blocked", 9: "not a Viber user", 10: "no suitable device",
    11: "unauthorized IP", 13: "not permitted", 18: "bad label", 20: "invalid TTL",
    21: "wait for user response",
}

# Callback events and the delivery state each reports; others (message, subscribed, ...)
# are not about our sends and are ignored.
EVENT_STATES = {"delivered": DeliveryState.DELIVERED, "seen": DeliveryState.DELIVERED,
                "expired": DeliveryState.EXPIRED, "failed": DeliveryState.UNDELIVERABLE}


def signature(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(token: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(token, body), given.strip().lower())


def send_outcome(status: Any) -> tuple[SendStatus, str | None]:
    """What a non-zero answer status means for the outbox, and the error to record."""
    if isinstance(status, int) and status in REJECT_STATUSES:
        return SendStatus.REJECTED, f"viber status {status}: {REJECT_STATUSES[status]}"
    if isinstance(status, int) and status in RETRY_STATUSES:
        return SendStatus.RETRY_LATER, f"viber status {status}: {RETRY_STATUSES[status]}"
    return SendStatus.RETRY_LATER, f"viber status {status!r}"
