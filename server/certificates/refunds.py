"""Returns of goods bought with a certificate: the money goes back to it, never to cash.

How much may come back is bounded by what the certificate paid on that receipt; what the
certificate becomes depends on its state and the type's expired-refund policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.certificates.model import (
    CertificateInfo,
    CertificateKind,
    CertificateState,
    CertificateTypeInfo,
    ExpiredRefundPolicy,
)
from server.certificates.validity import is_past_validity
from server.errors import DomainError, ErrorKind


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """The certificate after a refund, and how much of the refund is written off at once."""

    state: CertificateState
    balance_minor: int
    expires_at: dt.datetime | None
    written_off_minor: int


def check_refund_amount(
    cert: CertificateInfo, amount_minor: int, paid_minor: int, refunded_minor: int
) -> None:
    """Refuse a refund larger than what is left of the receipt's payment by this certificate."""
    left = paid_minor - refunded_minor
    if amount_minor > left or (cert.kind is CertificateKind.PRODUCT and amount_minor != left):
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION, "CERTIFICATE_REFUND_EXCEEDS_PAYMENT",
            f"certificate {cert.number} can take back {left} for this receipt"
            + (" (a product certificate comes back whole)"
               if cert.kind is CertificateKind.PRODUCT else ""),
            metadata={"refundable_minor": str(left)},
        )


def plan_refund(
    cert: CertificateInfo, t: CertificateTypeInfo, amount_minor: int, now: dt.datetime
) -> RefundPlan:
    """Where the refunded money ends up.

    Active or used-up certificates within validity become active with the money back; a
    blocked one stays blocked (it can still be reissued); an expired one is reactivated for
    `refund_extension_days` or has the money written off at once, per the type.
    """
    balance = cert.balance_minor + amount_minor
    expired = cert.state is CertificateState.EXPIRED or is_past_validity(cert, now)
    if cert.state is CertificateState.BLOCKED:
        return RefundPlan(CertificateState.BLOCKED, balance, cert.expires_at, 0)
    if not expired:
        return RefundPlan(CertificateState.ACTIVE, balance, cert.expires_at, 0)
    if t.expired_refund_policy is ExpiredRefundPolicy.REACTIVATE:
        until = now + dt.timedelta(days=t.refund_extension_days)
        return RefundPlan(CertificateState.ACTIVE, balance, until, 0)
    # A used-up certificate past its validity is expired now; one still holding an old
    # balance keeps its state until the expiry job writes that balance off.
    state = cert.state if cert.balance_minor else CertificateState.EXPIRED
    return RefundPlan(state, cert.balance_minor, cert.expires_at, amount_minor)
