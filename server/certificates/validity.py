"""Validity periods: fixed dates or N days from activation, and the state a caller sees."""

from __future__ import annotations

import datetime as dt

from server.certificates.model import CertificateInfo, CertificateState, CertificateTypeInfo


def validity_window(
    t: CertificateTypeInfo, activated_at: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime]:
    """(usable from, expires at) of a certificate activated at `activated_at`."""
    if t.valid_until is not None:
        return t.valid_from, t.valid_until
    return None, activated_at + dt.timedelta(days=t.valid_days)


def can_still_be_sold(t: CertificateTypeInfo, now: dt.datetime) -> bool:
    """A fixed-date type cannot be sold after its last day: it would be born expired."""
    return t.valid_until is None or t.valid_until > now


def is_past_validity(cert: CertificateInfo, now: dt.datetime) -> bool:
    return cert.expires_at is not None and cert.expires_at <= now


def effective_state(cert: CertificateInfo, now: dt.datetime) -> CertificateState:
    """The stored state, except an active certificate past its validity reads as expired.

    The expiry job writes the entry that zeroes the balance; until it runs, no spend is
    allowed anyway (the spend statement checks expires_at), so callers see the truth.
    """
    if cert.state is CertificateState.ACTIVE and is_past_validity(cert, now):
        return CertificateState.EXPIRED
    return cert.state
