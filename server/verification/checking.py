"""VerifySMS: check a code against its verification, counting wrong attempts.

A wrong code must be counted even though the call fails, so `verify_code` returns the
refusal instead of raising it: the caller commits the counter first, then raises.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from server.errors import DomainError, invalid
from server.verification import errors
from server.verification.codes import CODE_DIGITS, code_matches, is_well_formed
from server.verification.model import VerificationRecord, VerificationState, VerifiedCard
from server.verification.repository import VerificationRepository


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    """Exactly one of `verified` and `refusal` is set."""

    verified: VerifiedCard | None = None
    refusal: DomainError | None = None


def _verified(record: VerificationRecord, at: dt.datetime) -> VerifiedCard:
    return VerifiedCard(record.card_number, at, record.id, record.operation, record.max_amount)


def parse_verification_id(raw: str) -> uuid.UUID:
    if not raw:
        raise invalid("verification_id", "required (from SendVerificationCode)")
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise invalid("verification_id", "not a UUID") from None


async def verify_code(
    repo: VerificationRepository, verification_id: uuid.UUID, code: str, *, requester: str,
    now: dt.datetime,
) -> VerifyOutcome:
    """Check `code`; a success is repeatable with the same code (idempotent retries)."""
    code = code.strip()
    if not is_well_formed(code):
        raise invalid("code", f"must be {CODE_DIGITS} digits")
    record = await repo.get_for_update(verification_id)
    if record is None or record.requester != requester:
        raise errors.not_found(str(verification_id))
    matches = code_matches(record.salt, record.id, code, record.code_hash)
    if record.state is VerificationState.VERIFIED:
        if matches and record.verified_at is not None:
            return VerifyOutcome(_verified(record, record.verified_at))
        return VerifyOutcome(refusal=errors.already_used())
    if record.state is VerificationState.LOCKED:
        return VerifyOutcome(refusal=errors.attempts_exhausted(record.max_attempts))
    if now >= record.expires_at:
        return VerifyOutcome(refusal=errors.code_expired())
    if matches:
        await repo.mark_verified(record.id, now)
        return VerifyOutcome(_verified(record, now))
    attempts = record.attempts + 1
    locked = attempts >= record.max_attempts
    await repo.record_wrong_code(record.id, attempts, locked)
    if locked:
        return VerifyOutcome(refusal=errors.attempts_exhausted(record.max_attempts))
    return VerifyOutcome(refusal=errors.code_invalid(record.max_attempts - attempts))
