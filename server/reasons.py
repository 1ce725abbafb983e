"""Every error reason the server may raise, with its gRPC code: the one list of them.

proto/ERRORS.md documents exactly these (tests/unit/test_error_reasons.py compares both
ways and checks each is raised somewhere), and `DomainError` refuses any other reason or
a reason with another code, so a new reason cannot reach a client undocumented. Raise
sites may keep their string literals: the registry is the check, not an import every
caller must make.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType


class ErrorKind(Enum):
    """What class of failure; each maps to one gRPC code (see proto/ERRORS.md)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    ABORTED = "ABORTED"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    UNAVAILABLE = "UNAVAILABLE"


#: reason -> the kind (gRPC code) it is always raised with; in proto/ERRORS.md's order.
REASONS: Mapping[str, ErrorKind] = MappingProxyType({
    "INVALID_ARGUMENT": ErrorKind.INVALID_ARGUMENT,
    "MALFORMED_REQUEST": ErrorKind.INVALID_ARGUMENT,
    "REQUEST_ID_REUSED": ErrorKind.ALREADY_EXISTS,
    "API_KEY_MISSING": ErrorKind.UNAUTHENTICATED,
    "API_KEY_INVALID": ErrorKind.UNAUTHENTICATED,
    "TOO_MANY_AUTH_FAILURES": ErrorKind.RESOURCE_EXHAUSTED,
    "LOOKUP_RATE_LIMITED": ErrorKind.RESOURCE_EXHAUSTED,
    "PERMISSION_DENIED": ErrorKind.PERMISSION_DENIED,
    "DATABASE_UNAVAILABLE": ErrorKind.UNAVAILABLE,
    "ROLE_NOT_FOUND": ErrorKind.NOT_FOUND,
    "IMPORT_DIR_UNSET": ErrorKind.FAILED_PRECONDITION,
    "IMPORT_FILE_UNUSABLE": ErrorKind.FAILED_PRECONDITION,
    "ROLE_IN_USE": ErrorKind.FAILED_PRECONDITION,
    "LAST_ADMIN_LOCKOUT": ErrorKind.FAILED_PRECONDITION,
    "MEMBER_NOT_FOUND": ErrorKind.NOT_FOUND,
    "MEMBER_ALREADY_EXISTS": ErrorKind.ALREADY_EXISTS,
    "CARD_NOT_FOUND": ErrorKind.NOT_FOUND,
    "CARD_TYPE_NOT_FOUND": ErrorKind.INVALID_ARGUMENT,
    "CARD_STATE_TRANSITION_INVALID": ErrorKind.FAILED_PRECONDITION,
    "CARD_NOT_ASSIGNED": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_NOT_FOUND": ErrorKind.NOT_FOUND,
    "CERTIFICATE_TYPE_NOT_FOUND": ErrorKind.INVALID_ARGUMENT,
    "CERTIFICATE_TYPE_IN_USE": ErrorKind.FAILED_PRECONDITION,
    "NUMBER_PREFIX_TAKEN": ErrorKind.ALREADY_EXISTS,
    "NUMBER_SERIES_EXHAUSTED": ErrorKind.RESOURCE_EXHAUSTED,
    "CERTIFICATE_EXPIRED": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_BLOCKED": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_NOT_ACTIVE": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_KIND_MISMATCH": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_CURRENCY_MISMATCH": ErrorKind.FAILED_PRECONDITION,
    "INSUFFICIENT_BALANCE": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_PRODUCT_NOT_ALLOWED": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_REFUND_EXCEEDS_PAYMENT": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_STATE_TRANSITION_INVALID": ErrorKind.FAILED_PRECONDITION,
    "CERTIFICATE_CONTENDED": ErrorKind.ABORTED,
    "CARD_NOT_ACTIVE": ErrorKind.FAILED_PRECONDITION,
    "MEMBER_HAS_NO_PHONE": ErrorKind.FAILED_PRECONDITION,
    "MEMBER_HAS_NO_ACTIVE_CARD": ErrorKind.FAILED_PRECONDITION,
    "MESSAGE_CHANNEL_NOT_CONFIGURED": ErrorKind.FAILED_PRECONDITION,
    "VERIFICATION_RATE_LIMITED": ErrorKind.RESOURCE_EXHAUSTED,
    "VERIFICATION_NOT_FOUND": ErrorKind.NOT_FOUND,
    "VERIFICATION_CODE_INVALID": ErrorKind.INVALID_ARGUMENT,
    "VERIFICATION_ATTEMPTS_EXHAUSTED": ErrorKind.FAILED_PRECONDITION,
    "VERIFICATION_CODE_EXPIRED": ErrorKind.FAILED_PRECONDITION,
    "VERIFICATION_ALREADY_USED": ErrorKind.FAILED_PRECONDITION,
    "INSUFFICIENT_POINTS": ErrorKind.FAILED_PRECONDITION,
    "INSUFFICIENT_FUNDS": ErrorKind.FAILED_PRECONDITION,
    "RECEIPT_NOT_FOUND": ErrorKind.NOT_FOUND,
    "RECEIPT_NUMBER_TAKEN": ErrorKind.ALREADY_EXISTS,
    "CALCULATION_ALREADY_CONFIRMED": ErrorKind.ALREADY_EXISTS,
    "RECEIPT_ALREADY_REFUNDED": ErrorKind.FAILED_PRECONDITION,
    "RECEIPT_CANCELLED": ErrorKind.FAILED_PRECONDITION,
    "RECEIPT_NOT_CANCELLABLE": ErrorKind.FAILED_PRECONDITION,
    "MASTER_ACCOUNT_NOT_FOUND": ErrorKind.NOT_FOUND,
    "CASH_ACCOUNT_ALREADY_POOLED": ErrorKind.INVALID_ARGUMENT,
    "ACCRUAL_RULES_INVALID": ErrorKind.INVALID_ARGUMENT,
    "TOKEN_INVALID": ErrorKind.INVALID_ARGUMENT,
    "CALCULATION_EXPIRED": ErrorKind.FAILED_PRECONDITION,
    "VERIFICATION_REQUIRED": ErrorKind.FAILED_PRECONDITION,
    "VERIFICATION_CARD_MISMATCH": ErrorKind.PERMISSION_DENIED,
    "VERIFICATION_OPERATION_MISMATCH": ErrorKind.PERMISSION_DENIED,
    "VERIFICATION_AMOUNT_EXCEEDED": ErrorKind.PERMISSION_DENIED,
    "VERIFICATION_STORE_MISMATCH": ErrorKind.PERMISSION_DENIED,
    "VERIFICATION_TERMINAL_MISMATCH": ErrorKind.PERMISSION_DENIED,
    "VERIFICATION_EXPIRED": ErrorKind.FAILED_PRECONDITION,
    "VERIFICATION_USED": ErrorKind.FAILED_PRECONDITION,
    "INVALID_RULE_SET": ErrorKind.INVALID_ARGUMENT,
    "INVALID_RECEIPT": ErrorKind.INVALID_ARGUMENT,
    "STORE_NOT_FOUND": ErrorKind.INVALID_ARGUMENT,
    "USER_NOT_FOUND": ErrorKind.NOT_FOUND,
    "USER_EMAIL_TAKEN": ErrorKind.ALREADY_EXISTS,
    "PASSWORD_TOO_WEAK": ErrorKind.INVALID_ARGUMENT,
    "TOTP_NOT_PENDING": ErrorKind.FAILED_PRECONDITION,
    "TOTP_CODE_INVALID": ErrorKind.INVALID_ARGUMENT,
    "LOGIN_FAILED": ErrorKind.UNAUTHENTICATED,
    "TOTP_REQUIRED": ErrorKind.UNAUTHENTICATED,
    "LOGIN_LOCKED_OUT": ErrorKind.RESOURCE_EXHAUSTED,
    "SESSION_INVALID": ErrorKind.UNAUTHENTICATED,
    "API_KEY_NOT_FOUND": ErrorKind.NOT_FOUND,
    "API_KEY_NOT_LIVE": ErrorKind.FAILED_PRECONDITION,
    "ADJUSTMENT_NOT_FOUND": ErrorKind.NOT_FOUND,
    "ADJUSTMENT_NOT_PENDING": ErrorKind.FAILED_PRECONDITION,
    "APPROVAL_BY_REQUESTER": ErrorKind.FAILED_PRECONDITION,
    "DAILY_CAP_EXCEEDED": ErrorKind.RESOURCE_EXHAUSTED,
})


class UnknownReasonError(ValueError):
    """A DomainError with a reason not in REASONS, or with another kind than registered.

    A programming error, so it is not a DomainError: the caller sees INTERNAL and the
    server log names the reason to add here and to proto/ERRORS.md.
    """


def check_reason(kind: ErrorKind, reason: str) -> None:
    """Refuse a reason that is not registered, or one raised with another kind."""
    registered = REASONS.get(reason)
    if registered is None:
        raise UnknownReasonError(
            f"error reason {reason!r} is not registered: add it to server/reasons.py "
            "and document it in proto/ERRORS.md")
    if registered is not kind:
        raise UnknownReasonError(
            f"error reason {reason!r} is registered as {registered.value}, "
            f"raised as {kind.value}")
