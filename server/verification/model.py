"""Values of the SMS verification feature, shared by the domain, storage and API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum


class Operation(StrEnum):
    """The spend a verification authorizes (the token is good for that one only)."""

    REDEEM_POINTS = "redeem_points"  # RedeemBonus: amount in points
    CONFIRM_RECEIPT = "confirm_receipt"  # points + cash account paid, in minor units
    CONVERT_FUNDS = "convert_funds"  # ConvertFunds: amount in the source's units
    PLACE_ORDER = "place_order"  # PlaceOrder reserving points: amount in points
    EXCHANGE_ORDER = "exchange_order"  # ExchangeLines paid from points or the cash account


class VerificationState(StrEnum):
    PENDING = "pending"  # code sent, waiting for the cashier to enter it
    VERIFIED = "verified"  # code matched; a token was issued
    LOCKED = "locked"  # too many wrong codes; a new code is needed


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """Expiry, attempts and send limits (from settings); windows are sliding."""

    code_ttl: dt.timedelta = dt.timedelta(minutes=5)
    token_ttl: dt.timedelta = dt.timedelta(minutes=5)
    max_attempts: int = 3
    phone_limit: int = 3
    phone_window: dt.timedelta = dt.timedelta(minutes=15)
    terminal_limit: int = 30
    terminal_window: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """A stored verification; the code itself is never stored, only its hash."""

    id: uuid.UUID
    card_number: str
    member_id: uuid.UUID
    phone: str
    requester: str
    code_hash: bytes
    salt: bytes
    state: VerificationState
    attempts: int
    max_attempts: int
    mailing_id: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime
    verified_at: dt.datetime | None = None
    operation: Operation = Operation.REDEEM_POINTS
    max_amount: int = 0


@dataclass(frozen=True, slots=True)
class SentCode:
    """What SendVerificationCode answers."""

    verification_id: uuid.UUID
    expires_at: dt.datetime
    masked_phone: str
    card_number: str
    max_attempts: int


@dataclass(frozen=True, slots=True)
class VerifiedCard:
    """A successful check: what was verified and when (the token's start)."""

    card_number: str
    verified_at: dt.datetime
    verification_id: uuid.UUID
    operation: Operation
    max_amount: int


@dataclass(frozen=True, slots=True)
class RecentSends:
    """Codes sent for one key inside a window, and when the oldest of them was sent."""

    count: int
    oldest: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Template:
    body: str
    updated_at: dt.datetime | None
    updated_by: str
