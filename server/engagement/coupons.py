"""Coupon codes and the rules of using one (docs/coupons.md).

A code is an optional prefix, random characters from an alphabet without look-alikes
(no 0/O, 1/I/L, U; 30 characters) and a check character over the whole code (a weighted
sum mod 30, weights prime to 30), so any one mistyped character is caught before a lookup.
10 random characters from `secrets` give 30**10 (about 5.9e14) codes: finding a live one
among a million issued takes ~5.9e8 guesses on average.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from server.errors import DomainError, ErrorKind

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # 30 characters
RANDOM_LENGTH = 10
MAX_PREFIX = 8
MAX_CODE = MAX_PREFIX + RANDOM_LENGTH + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_SEPARATORS = re.compile(r"[\s\-_]+")
_PREFIX = re.compile(rf"^[{ALPHABET}]{{0,{MAX_PREFIX}}}$")


class CouponState(StrEnum):
    """A coupon's lifecycle (expiry and use are separate facts)."""

    ACTIVE = "active"
    BLOCKED = "blocked"


class CouponSource(StrEnum):
    """Who issued it."""

    OPERATOR = "operator"
    CAMPAIGN = "campaign"
    TRIGGER = "trigger"
    SURVEY = "survey"
    SOCIAL = "social"


def check_character(body: str) -> str:
    """The check character of `body`: sum of value x weight mod 30, the weights being the
    successive numbers prime to 30 (1, 7, 11, 13, ...), so one wrong character always
    changes the sum."""
    n = len(ALPHABET)
    total = 0
    weight = 1
    for char in body:
        while _gcd(weight, n) != 1:
            weight += 1
        total += _VALUE[char] * weight
        weight += 1
    return ALPHABET[total % n]


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def new_code(prefix: str = "") -> str:
    """A fresh unguessable code (secrets) with its check character."""
    body = prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def normalize(code: str) -> str:
    """Upper case, separators (spaces, dashes, underscores) removed."""
    return _SEPARATORS.sub("", code).upper()


def well_formed(code: str) -> bool:
    """A normalized code of the alphabet whose check character matches."""
    if not 2 <= len(code) <= MAX_CODE or any(c not in _VALUE for c in code):
        return False
    return check_character(code[:-1]) == code[-1]


def check_prefix(prefix: str) -> str | None:
    """The normalized prefix, or None when it uses characters outside the alphabet."""
    value = normalize(prefix)
    return value if _PREFIX.match(value) else None


@dataclass(frozen=True, slots=True)
class Coupon:
    """A stored coupon as the rules see it."""

    id: uuid.UUID
    code: str
    promotion_id: str
    max_uses: int
    uses: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    member_id: uuid.UUID | None
    state: str
    batch_id: uuid.UUID | None = None
    source: str = CouponSource.OPERATOR
    created_at: dt.datetime | None = None
    block_reason: str | None = None


REFUSALS = {
    "COUPON_CODE_INVALID": "the code is mistyped (its check character does not match)",
    "COUPON_NOT_FOUND": "unknown coupon code",
    "COUPON_BLOCKED": "the coupon is blocked",
    "COUPON_NOT_YET_VALID": "the coupon is not valid yet",
    "COUPON_EXPIRED": "the coupon has expired",
    "COUPON_USED_UP": "the coupon has been used",
    "COUPON_OTHER_MEMBER": "the coupon belongs to another member",
}
"""Reason -> the cashier's words."""


def refusal(coupon: Coupon | None, member_id: uuid.UUID | None, now: dt.datetime,
            ) -> str | None:
    """Why `coupon` may not be used on a receipt of `member_id` at `now` (None: it may).
    The same rules as the SQL spend (kopilka_spend_coupon, migration 0026)."""
    if coupon is None:
        return "COUPON_NOT_FOUND"
    if coupon.state == CouponState.BLOCKED:
        return "COUPON_BLOCKED"
    if now < coupon.valid_from:
        return "COUPON_NOT_YET_VALID"
    if coupon.valid_to is not None and now >= coupon.valid_to:
        return "COUPON_EXPIRED"
    if coupon.uses >= coupon.max_uses:
        return "COUPON_USED_UP"
    if coupon.member_id is not None and coupon.member_id != member_id:
        return "COUPON_OTHER_MEMBER"
    return None


def refusal_error(code: str, reason: str) -> DomainError:
    """ConfirmReceipt's error for a coupon that can no longer be spent."""
    kind = {"COUPON_NOT_FOUND": ErrorKind.NOT_FOUND,
            "COUPON_CODE_INVALID": ErrorKind.INVALID_ARGUMENT}.get(reason,
                                                                 ErrorKind.FAILED_PRECONDITION)
    return DomainError(kind, reason, f"coupon {code}: {REFUSALS[reason]}; calculate the "
                       "receipt again without it", metadata={"code": code})


@dataclass(frozen=True, slots=True)
class CouponCheck:
    """What a receipt makes of one presented code."""

    code: str
    coupon: Coupon | None
    reason: str | None
    """None: accepted."""


def check_codes(codes: list[str], found: dict[str, Coupon], member_id: uuid.UUID | None,
                now: dt.datetime) -> list[CouponCheck]:
    """Each presented (normalized) code accepted or refused with its reason; a code given
    twice counts once."""
    checks = []
    for code in dict.fromkeys(codes):
        if not well_formed(code):
            checks.append(CouponCheck(code, None, "COUPON_CODE_INVALID"))
            continue
        coupon = found.get(code)
        checks.append(CouponCheck(code, coupon, refusal(coupon, member_id, now)))
    return checks


def spent_on(checks: list[CouponCheck], applied_promotions: tuple[str, ...]
             ) -> list[Coupon]:
    """The accepted coupons a confirmed receipt spends: one per promotion that discounted it
    (a second coupon of the same promotion is left unspent)."""
    applied = set(applied_promotions)
    spent: dict[str, Coupon] = {}
    for check in checks:
        coupon = check.coupon
        if check.reason is None and coupon is not None and coupon.promotion_id in applied:
            spent.setdefault(coupon.promotion_id, coupon)
    return list(spent.values())


def cashier_message(code: str, reason: str) -> str:
    """The message shown at the till for a refused code."""
    return f"Coupon {code} refused: {REFUSALS[reason]} ({reason})"
