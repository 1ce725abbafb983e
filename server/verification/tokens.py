"""Verification tokens: one spend the card holder confirmed with an SMS code.

VerifySMS issues one; RedeemBonus, ConfirmReceipt and ConvertFunds spend it when the card's
type requires verification. A token is signed and self-contained (any worker can check its
bindings without the database) and names its verification as its id (`jti`): the spend
writes that id to a table of used tokens in its own transaction (server/db/
verification/uses.py), so a token pays for one spend only, and a VerifySMS retry, which gives
the same token again, cannot buy a second one.

A token binds: the card, the operation, the most it may spend, the store, terminal and
requester (API key when there is no terminal) that asked for the code, and its expiry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from server.errors import DomainError, ErrorKind, FieldViolation
from server.security.signing import Signer
from server.verification.model import Operation

PURPOSE = "verification/v2"  # v1 tokens (reusable, card only) are refused as not genuine
FIELD = "verification_token"
DENIED = ErrorKind.PERMISSION_DENIED


@dataclass(frozen=True, slots=True)
class Caller:
    """Who spends or asked for the code: the API key's store, terminal and requester key."""

    store_code: str
    terminal_id: str
    requester: str


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token allows."""

    token_id: uuid.UUID
    card_number: str
    operation: Operation
    max_amount: int
    caller: Caller
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Spend:
    """What a call is about to do with a token."""

    card_number: str
    operation: Operation
    amount: int
    caller: Caller


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What a door hands to the code that spends, which alone knows whether the card
    requires verification: the token the request carries (may be empty), the calling key,
    the request id its use is recorded under, and the request's field that names it."""

    signer: Signer
    token: str
    caller: Caller
    request_id: uuid.UUID
    field_path: str = FIELD

    def spend(self, card_number: str, operation: Operation, amount: int) -> Spend:
        return Spend(card_number, operation, amount, self.caller)


def naming(error: DomainError, field_path: str) -> DomainError:
    """`error` with a field violation naming `field_path` (unless it names a field already)."""
    if error.violations:
        return error
    return dataclasses.replace(error, violations=[FieldViolation(field_path, error.message)])


def issue_verification_token(signer: Signer, grant: Grant) -> str:
    return signer.sign(PURPOSE, {
        "jti": str(grant.token_id), "card": grant.card_number, "op": grant.operation.value,
        "max": grant.max_amount, "store": grant.caller.store_code,
        "term": grant.caller.terminal_id, "req": grant.caller.requester,
        "exp": grant.expires_at.isoformat()})


def read_verification_token(signer: Signer, token: str, field_path: str = FIELD) -> Grant:
    """The grant of a genuine token; TOKEN_INVALID naming `field_path` otherwise."""
    payload: dict[str, Any] = signer.verify(PURPOSE, token, field_path)
    return Grant(
        token_id=uuid.UUID(payload["jti"]), card_number=payload["card"],
        operation=Operation(payload["op"]), max_amount=int(payload["max"]),
        caller=Caller(payload["store"], payload["term"], payload["req"]),
        expires_at=dt.datetime.fromisoformat(payload["exp"]))


def required() -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_REQUIRED",
                       "this card requires an SMS verification: call SendVerificationCode "
                       "and VerifySMS, then pass the token")


def check_spend(grant: Grant, spend: Spend, now: dt.datetime) -> None:
    """Raise unless `grant` covers `spend` at `now`: the binding rules, no storage."""
    if grant.card_number != spend.card_number:
        raise DomainError(DENIED, "VERIFICATION_CARD_MISMATCH",
                          "the verification token was issued for another card")
    if grant.operation is not spend.operation:
        raise DomainError(DENIED, "VERIFICATION_OPERATION_MISMATCH",
                          f"the verification token authorizes {grant.operation.value}, "
                          f"not {spend.operation.value}; verify again for this operation",
                          metadata={"operation": grant.operation.value,
                                    "requested": spend.operation.value})
    if spend.amount > grant.max_amount:
        raise DomainError(DENIED, "VERIFICATION_AMOUNT_EXCEEDED",
                          f"the verification token allows at most {grant.max_amount}, "
                          f"this spend is {spend.amount}; verify again for the larger amount",
                          metadata={"max_amount": str(grant.max_amount),
                                    "amount": str(spend.amount)})
    if grant.caller.store_code != spend.caller.store_code:
        raise DomainError(DENIED, "VERIFICATION_STORE_MISMATCH",
                          "the verification token was asked for by another store")
    if (grant.caller.terminal_id != spend.caller.terminal_id
            or grant.caller.requester != spend.caller.requester):
        raise DomainError(DENIED, "VERIFICATION_TERMINAL_MISMATCH",
                          "the verification token was asked for by another terminal or "
                          "API key")
    if grant.expires_at <= now:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_EXPIRED",
                          "the verification token has expired; verify again")


def authorize(signer: Signer, token: str, spend: Spend, now: dt.datetime,
              field_path: str = FIELD) -> Grant:
    """The grant of `token` if it covers `spend`; it still has to be consumed (once)."""
    if not token:
        raise required()
    grant = read_verification_token(signer, token, field_path)
    check_spend(grant, spend, now)
    return grant


def used() -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_USED",
                       "this verification token has already paid for a spend; send a new "
                       "code and verify again")
