"""Who may spend, block, reissue or refund a certificate, and why not: one refusal each.

The hot spend path is a conditional UPDATE; when it touches no row, `spend_refusal` reads
the certificate and names the first rule it breaks, so the caller gets a precise reason.
"""

from __future__ import annotations

import datetime as dt

from server.certificates.model import (
    CertificateInfo,
    CertificateKind,
    CertificateState,
    CertificateTypeInfo,
)
from server.certificates.validation import face_value_problem
from server.certificates.validity import is_past_validity
from server.errors import DomainError, ErrorKind, invalid

MAX_BATCH = 1000


def _refuse(reason: str, message: str, **metadata: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, reason, message, metadata=metadata)


def choose_denomination(t: CertificateTypeInfo, requested: int, field: str) -> int:
    """The face value to issue: the requested one if the type allows it (one of its values,
    or a free value within its bounds and the absolute cap), or its only one."""
    if requested < 0:
        raise invalid(field, "must not be negative")
    if not t.denominations:
        if requested == 0:
            raise invalid(field, "required: this type has a free face value")
        if problem := face_value_problem(t, requested):
            raise invalid(field, problem)
        return requested
    if requested == 0:
        if len(t.denominations) == 1:
            return t.denominations[0]
        raise invalid(field, f"required: one of {list(t.denominations)}")
    if requested not in t.denominations:
        raise invalid(field, f"must be one of {list(t.denominations)}")
    return requested


def _usable_refusal(cert: CertificateInfo, now: dt.datetime) -> DomainError | None:
    """Why a certificate cannot be spent right now, ignoring amounts and goods."""
    if cert.state is CertificateState.BLOCKED:
        return _refuse("CERTIFICATE_BLOCKED", f"certificate {cert.number} is blocked")
    if cert.state is CertificateState.EXPIRED or (
        cert.state is CertificateState.ACTIVE and is_past_validity(cert, now)
    ):
        return _refuse("CERTIFICATE_EXPIRED", f"certificate {cert.number} has expired",
                       expire_time=cert.expires_at.isoformat() if cert.expires_at else "")
    if cert.state is not CertificateState.ACTIVE:
        return _refuse("CERTIFICATE_NOT_ACTIVE", f"certificate {cert.number} is {cert.state}",
                       state=str(cert.state))
    if cert.valid_from is not None and cert.valid_from > now:
        return _refuse("CERTIFICATE_NOT_ACTIVE",
                       f"certificate {cert.number} is valid from {cert.valid_from.isoformat()}",
                       state="not_yet_valid")
    return None


def spend_refusal(
    cert: CertificateInfo, *, kind: CertificateKind, amount_minor: int, currency: str,
    now: dt.datetime,
) -> DomainError | None:
    """The first rule a spend breaks, or None when it should have gone through."""
    refusal = _usable_refusal(cert, now)
    if refusal is not None:
        return refusal
    if cert.kind is not kind:
        return _refuse("CERTIFICATE_KIND_MISMATCH",
                       f"certificate {cert.number} is a {cert.kind} certificate",
                       kind=str(cert.kind))
    if kind is CertificateKind.MONEY and currency != cert.currency:
        return _refuse("CERTIFICATE_CURRENCY_MISMATCH",
                       f"certificate {cert.number} is in {cert.currency}",
                       currency=cert.currency)
    if cert.balance_minor < amount_minor:
        return _refuse("INSUFFICIENT_BALANCE",
                       f"certificate {cert.number} holds {cert.balance_minor}",
                       balance_minor=str(cert.balance_minor))
    return None


def product_refusal(
    t: CertificateTypeInfo, sku: str, group_code: str | None
) -> DomainError | None:
    """Why a product certificate cannot be exchanged for `sku` (None: it can)."""
    if not t.product_skus and not t.product_groups:
        return None
    if sku in t.product_skus or (group_code is not None and group_code in t.product_groups):
        return None
    return _refuse("CERTIFICATE_PRODUCT_NOT_ALLOWED",
                   f"a {t.code} certificate cannot be exchanged for {sku}", sku=sku)


def transition_refusal(
    cert: CertificateInfo, action: str, allowed: frozenset[CertificateState]
) -> DomainError | None:
    """Refuse an action (activate, block, reissue) the certificate's state does not allow."""
    if cert.state in allowed:
        return None
    return _refuse("CERTIFICATE_STATE_TRANSITION_INVALID",
                   f"cannot {action} certificate {cert.number}: it is {cert.state}",
                   **{"from": str(cert.state), "action": action})


ACTIVATABLE = frozenset({CertificateState.NEW})
BLOCKABLE = frozenset({CertificateState.NEW, CertificateState.ACTIVE})
REISSUABLE = frozenset({CertificateState.ACTIVE, CertificateState.BLOCKED})


def reissue_refusal(cert: CertificateInfo, now: dt.datetime) -> DomainError | None:
    """A reissue moves a live balance: not from expired, used-up or unsold certificates."""
    refusal = transition_refusal(cert, "reissue", REISSUABLE)
    if refusal is not None:
        return refusal
    if is_past_validity(cert, now):
        return _refuse("CERTIFICATE_EXPIRED", f"certificate {cert.number} has expired")
    if cert.balance_minor == 0:
        return _refuse("INSUFFICIENT_BALANCE", f"certificate {cert.number} has nothing left",
                       balance_minor="0")
    return None
