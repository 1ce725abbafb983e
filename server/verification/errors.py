"""The refusals of SMS verification, one constructor per reason (see proto/ERRORS.md)."""

from __future__ import annotations

import math

from server.errors import DomainError, ErrorKind, FieldViolation


def rate_limited(scope: str, limit: int, window_seconds: int,
                 retry_after_seconds: float) -> DomainError:
    retry = max(1, math.ceil(retry_after_seconds))
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED, "VERIFICATION_RATE_LIMITED",
        f"too many codes for this {scope}: at most {limit} per {window_seconds} s; "
        f"try again in {retry} s",
        metadata={"scope": scope, "limit": str(limit), "window_seconds": str(window_seconds),
                  "retry_after_seconds": str(retry)})


def not_found(verification_id: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, "VERIFICATION_NOT_FOUND",
                       "no such verification for this terminal",
                       metadata={"verification_id": verification_id})


def code_invalid(attempts_left: int) -> DomainError:
    return DomainError(
        ErrorKind.INVALID_ARGUMENT, "VERIFICATION_CODE_INVALID",
        f"wrong code; {attempts_left} attempt(s) left",
        [FieldViolation("code", "does not match the code sent")],
        metadata={"attempts_left": str(attempts_left)})


def attempts_exhausted(max_attempts: int) -> DomainError:
    return DomainError(
        ErrorKind.FAILED_PRECONDITION, "VERIFICATION_ATTEMPTS_EXHAUSTED",
        f"{max_attempts} wrong codes: this verification is locked; send a new code",
        metadata={"max_attempts": str(max_attempts)})


def code_expired() -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_CODE_EXPIRED",
                       "the code has expired; send a new code")


def already_used() -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "VERIFICATION_ALREADY_USED",
                       "this verification already succeeded; send a new code to verify again")


def member_has_no_phone(member_id: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "MEMBER_HAS_NO_PHONE",
                       "the card's member has no phone number to send a code to",
                       metadata={"member_id": member_id})


def member_has_no_active_card(member_id: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "MEMBER_HAS_NO_ACTIVE_CARD",
                       "the member with this phone has no active card",
                       metadata={"member_id": member_id})


def card_not_active(number: str, state: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ACTIVE",
                       f"card {number} is {state}, not active",
                       metadata={"card_number": number, "state": state})
