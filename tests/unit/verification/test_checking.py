"""verify_code's decisions over an in-memory repository (no database)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest

from server.errors import DomainError
from server.verification.checking import verify_code
from server.verification.codes import hash_code, new_salt
from server.verification.model import VerificationRecord, VerificationState

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


class MemoryRepo:
    def __init__(self, record: VerificationRecord) -> None:
        self.record = record

    async def get_for_update(self, verification_id: uuid.UUID) -> VerificationRecord | None:
        return self.record if verification_id == self.record.id else None

    async def record_wrong_code(self, verification_id, attempts, locked) -> None:  # type: ignore[no-untyped-def]
        state = VerificationState.LOCKED if locked else VerificationState.PENDING
        self.record = replace(self.record, attempts=attempts, state=state)

    async def mark_verified(self, verification_id, at) -> None:  # type: ignore[no-untyped-def]
        self.record = replace(self.record, state=VerificationState.VERIFIED, verified_at=at)


def repo_with(code: str = "424242", max_attempts: int = 3) -> MemoryRepo:
    vid, salt = uuid.uuid4(), new_salt()
    return MemoryRepo(VerificationRecord(
        id=vid, card_number="2910000000017", member_id=uuid.uuid4(), phone="+380671234567",
        requester="terminal:kyiv-01/T1", code_hash=hash_code(salt, vid, code), salt=salt,
        state=VerificationState.PENDING, attempts=0, max_attempts=max_attempts,
        mailing_id=uuid.uuid4(), created_at=NOW, expires_at=NOW + dt.timedelta(minutes=5)))


async def check(repo: MemoryRepo, code: str, now: dt.datetime = NOW,
                requester: str = "terminal:kyiv-01/T1"):  # type: ignore[no-untyped-def]
    return await verify_code(repo, repo.record.id, code, requester=requester, now=now)


async def test_right_code_verifies_and_a_retry_gives_the_same_start_time() -> None:
    repo = repo_with()
    first = await check(repo, " 424242 ")
    assert first.verified is not None and first.verified.card_number == "2910000000017"
    later = await check(repo, "424242", NOW + dt.timedelta(minutes=1))
    assert later.verified == first.verified  # same verified_at -> same token


async def test_wrong_codes_lock_after_max_attempts() -> None:
    repo = repo_with(max_attempts=2)
    first = await check(repo, "000000")
    assert first.refusal is not None and first.refusal.reason == "VERIFICATION_CODE_INVALID"
    assert first.refusal.metadata["attempts_left"] == "1"
    second = await check(repo, "000000")
    assert second.refusal is not None
    assert second.refusal.reason == "VERIFICATION_ATTEMPTS_EXHAUSTED"
    assert repo.record.state is VerificationState.LOCKED and repo.record.attempts == 2
    right = await check(repo, "424242")
    assert right.refusal is not None
    assert right.refusal.reason == "VERIFICATION_ATTEMPTS_EXHAUSTED"


async def test_expiry_is_exclusive_and_does_not_count_an_attempt() -> None:
    repo = repo_with()
    ok = await check(repo_with(), "424242", NOW + dt.timedelta(minutes=5) - dt.timedelta(
        microseconds=1))
    assert ok.verified is not None
    expired = await check(repo, "424242", NOW + dt.timedelta(minutes=5))
    assert expired.refusal is not None and expired.refusal.reason == "VERIFICATION_CODE_EXPIRED"
    assert repo.record.attempts == 0


async def test_another_terminal_cannot_use_the_verification() -> None:
    with pytest.raises(DomainError) as error:
        await check(repo_with(), "424242", requester="terminal:kyiv-01/T2")
    assert error.value.reason == "VERIFICATION_NOT_FOUND"
