"""Verification tokens: proof that the card holder confirmed an SMS code, for a while.

VerifySMS issues one; RedeemBonus and ConfirmReceipt check it for the card whose type
requires verification. Signed and self-contained, so checking needs no database.
"""

from __future__ import annotations

import datetime as dt

from server.errors import DomainError, ErrorKind
from server.security.signing import Signer

PURPOSE = "verification/v1"
TOKEN_TTL = dt.timedelta(minutes=15)


def issue_verification_token(
    signer: Signer, card_number: str, now: dt.datetime, ttl: dt.timedelta = TOKEN_TTL
) -> tuple[str, dt.datetime]:
    """A token for `card_number` and its expiry time."""
    expires = now + ttl
    return signer.sign(PURPOSE, {"card": card_number, "exp": expires.isoformat()}), expires


def check_verification_token(
    signer: Signer, token: str, card_number: str, now: dt.datetime,
    field_path: str = "verification_token",
) -> None:
    """Raise unless `token` is genuine, unexpired and issued for `card_number`."""
    if not token:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_REQUIRED",
                          "this card requires an SMS verification: call SendVerificationCode "
                          "and VerifySMS, then pass the token")
    payload = signer.verify(PURPOSE, token, field_path)
    if payload.get("card") != card_number:
        raise DomainError(ErrorKind.PERMISSION_DENIED, "VERIFICATION_CARD_MISMATCH",
                          "the verification token was issued for another card")
    if dt.datetime.fromisoformat(payload["exp"]) <= now:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_EXPIRED",
                          "the verification token has expired; verify again")
