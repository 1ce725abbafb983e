"""Certificate use cases: types, issue, activate, block, reissue, look-up.

Spending and refunds are in server/db/certificates/payments.py because they are the hot,
concurrency-critical path (one conditional UPDATE); their rules are in rules.py/refunds.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from server.certificates import rules
from server.certificates.model import (
    CertificateInfo,
    CertificateState,
    CertificateTypeInfo,
    EntryInfo,
    EntryKind,
    NewCertificate,
)
from server.certificates.numbers import capacity, certificate_number, prefixes_overlap
from server.certificates.repository import CertificateRepository
from server.certificates.validation import validate_type, with_face_value_defaults
from server.certificates.validity import can_still_be_sold, validity_window
from server.errors import DomainError, ErrorKind, FieldViolation, invalid, not_found
from server.events.schema import NewEvent, new_event

# Fixed once certificates exist: changing them would re-price, re-number or re-kind the
# certificates already in customers' hands.
FROZEN_FIELDS = ("kind", "currency", "barcode_format", "number_prefix")


async def upsert_type(repo: CertificateRepository, t: CertificateTypeInfo) -> CertificateTypeInfo:
    t = with_face_value_defaults(t)
    validate_type(t)
    existing = await repo.certificate_type(t.code)
    if existing is not None and await repo.type_in_use(t.code):
        changed = [f for f in FROZEN_FIELDS if getattr(existing, f) != getattr(t, f)]
        if changed:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION, "CERTIFICATE_TYPE_IN_USE",
                f"certificates of {t.code} exist; cannot change {', '.join(changed)}",
                [FieldViolation(f"certificate_type.{f}", "fixed once certificates exist")
                 for f in changed],
            )
    for owner, prefix in await repo.other_prefixes(t.code):
        if prefixes_overlap(prefix, t.number_prefix):
            raise DomainError(
                ErrorKind.ALREADY_EXISTS, "NUMBER_PREFIX_TAKEN",
                f"prefix {t.number_prefix} overlaps {prefix} of {owner}",
                [FieldViolation("certificate_type.number_prefix", f"overlaps {owner}")],
                metadata={"owner": owner},
            )
    await repo.upsert_type(t)
    return t


async def _type(repo: CertificateRepository, code: str, field: str) -> CertificateTypeInfo:
    t = await repo.certificate_type(code)
    if t is None:
        raise invalid(field, f"unknown certificate type {code!r}", "CERTIFICATE_TYPE_NOT_FOUND")
    return t


async def _store(repo: CertificateRepository, code: str) -> None:
    if not await repo.store_exists(code):
        raise invalid("store_code", f"unknown store {code!r}")


def _not_sellable(t: CertificateTypeInfo) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "CERTIFICATE_EXPIRED",
                       f"certificates of {t.code} are valid only until "
                       f"{t.valid_until.isoformat() if t.valid_until else ''}")


async def issue(
    repo: CertificateRepository, *, type_code: str, count: int, store_code: str,
    denomination_minor: int, print_only: bool, now: dt.datetime, principal: str,
    batch_id: uuid.UUID,
) -> list[CertificateInfo]:
    """Sell (activate) or just print a batch of certificates with consecutive numbers."""
    if not 1 <= count <= rules.MAX_BATCH:
        raise invalid("count", f"must be 1 to {rules.MAX_BATCH}")
    t = await _type(repo, type_code, "certificate_type")
    face = rules.choose_denomination(t, denomination_minor, "denomination_minor")
    await _store(repo, store_code)
    if not print_only and not can_still_be_sold(t, now):
        raise _not_sellable(t)
    first = await repo.take_sequences(t.code, count)
    if first + count - 1 > capacity(t.barcode_format, t.number_prefix):
        raise DomainError(ErrorKind.RESOURCE_EXHAUSTED, "NUMBER_SERIES_EXHAUSTED",
                          f"the number series {t.number_prefix} of {t.code} is full")
    valid_from, expires_at = (None, None) if print_only else validity_window(t, now)
    state = CertificateState.NEW if print_only else CertificateState.ACTIVE
    new = [
        NewCertificate(
            number=certificate_number(t.barcode_format, t.number_prefix, seq), state=state,
            denomination_minor=face, balance_minor=0 if print_only else face,
            store_code=store_code, activated_at=None if print_only else now,
            valid_from=valid_from, expires_at=expires_at,
        )
        for seq in range(first, first + count)
    ]
    issued = await repo.add_certificates(t, new, batch_id, principal, now)
    for cert in issued:
        if cert.state is CertificateState.ACTIVE:
            await repo.emit(issued_event(cert))
    return issued


def issued_event(cert: CertificateInfo) -> NewEvent:
    """certificate.issued for a certificate just sold."""
    return new_event("certificate.issued", certificate_number=cert.number,
                     certificate_type=cert.type_code, kind=cert.kind.value,
                     denomination_minor=cert.denomination_minor, currency=cert.currency,
                     store_code=cert.store_code, expires_at=cert.expires_at)


async def _certificate(repo: CertificateRepository, number: str) -> CertificateInfo:
    cert = await repo.certificate(number, for_update=True)
    if cert is None:
        raise not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
    return cert


async def activate(
    repo: CertificateRepository, *, number: str, store_code: str, now: dt.datetime,
    principal: str,
) -> CertificateInfo:
    """Sell a printed certificate: its validity starts now (or at the type's fixed dates)."""
    cert = await _certificate(repo, number)
    if refusal := rules.transition_refusal(cert, "activate", rules.ACTIVATABLE):
        raise refusal
    t = await _type(repo, cert.type_code, "number")
    await _store(repo, store_code)
    if not can_still_be_sold(t, now):
        raise _not_sellable(t)
    valid_from, expires_at = validity_window(t, now)
    sold = await repo.change(
        cert, state=CertificateState.ACTIVE, entry=EntryKind.ISSUE,
        amount_minor=cert.denomination_minor, now=now, principal=principal,
        store_code=store_code, activated_at=now, valid_from=valid_from, expires_at=expires_at,
    )
    await repo.emit(issued_event(sold))
    return sold


async def block(
    repo: CertificateRepository, *, number: str, reason: str, now: dt.datetime, principal: str
) -> CertificateInfo:
    """Make a certificate unusable (lost, stolen, disputed); its balance stays for a reissue."""
    if not reason.strip():
        raise invalid("reason", "required: why the certificate is blocked")
    cert = await _certificate(repo, number)
    if refusal := rules.transition_refusal(cert, "block", rules.BLOCKABLE):
        raise refusal
    return await repo.change(cert, state=CertificateState.BLOCKED, entry=EntryKind.BLOCK,
                             amount_minor=0, now=now, principal=principal, note=reason.strip())


async def reissue(
    repo: CertificateRepository, *, number: str, reason: str, now: dt.datetime, principal: str,
    batch_id: uuid.UUID,
) -> tuple[CertificateInfo, CertificateInfo]:
    """Move the balance to a new number of the same type and validity; close the old one."""
    if not reason.strip():
        raise invalid("reason", "required: why the certificate is reissued")
    old = await _certificate(repo, number)
    if refusal := rules.reissue_refusal(old, now):
        raise refusal
    t = await _type(repo, old.type_code, "number")
    seq = await repo.take_sequences(t.code, 1)
    if seq > capacity(t.barcode_format, t.number_prefix):
        raise DomainError(ErrorKind.RESOURCE_EXHAUSTED, "NUMBER_SERIES_EXHAUSTED",
                          f"the number series {t.number_prefix} of {t.code} is full")
    new_number = certificate_number(t.barcode_format, t.number_prefix, seq)
    closed = await repo.change(
        old, state=CertificateState.CLOSED, entry=EntryKind.REISSUE_OUT,
        amount_minor=-old.balance_minor, now=now, principal=principal, note=reason.strip(),
        replaced_by_number=new_number,
    )
    # Same terms as the old one: a reissue never extends validity or changes the policy.
    t_same = dataclasses.replace(t, remainder_policy=old.remainder_policy)
    [new] = await repo.add_certificates(t_same, [NewCertificate(
        number=new_number, state=CertificateState.ACTIVE,
        denomination_minor=old.denomination_minor, balance_minor=old.balance_minor,
        store_code=old.store_code, activated_at=old.activated_at, valid_from=old.valid_from,
        expires_at=old.expires_at, replaces_number=old.number,
    )], batch_id, principal, now)
    return closed, new


async def get(
    repo: CertificateRepository, number: str
) -> tuple[CertificateInfo, list[EntryInfo]]:
    cert = await repo.certificate(number)
    if cert is None:
        raise not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
    return cert, await repo.entries(cert.id)
