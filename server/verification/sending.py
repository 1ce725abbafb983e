"""SendVerificationCode: find the card and phone, enforce limits, queue the code SMS.

Everything happens in the caller's transaction: the verification row and the outbox
message commit together, so a code is never valid without its SMS queued, nor sent for
a verification that was rolled back. Limits are counted from the verifications table
under an advisory lock per phone and per terminal, so they hold across worker processes.
"""

from __future__ import annotations

import datetime as dt
import uuid

from server.errors import DomainError, ErrorKind, invalid
from server.errors import not_found as entity_not_found
from server.members.cards import CardState
from server.members.contacts import mask_phone, normalize_phone
from server.members.model import CardInfo, MemberInfo
from server.members.repository import MemberRepository
from server.verification import errors
from server.verification.codes import generate_code, hash_code, new_salt
from server.verification.model import (
    Operation,
    RecentSends,
    SentCode,
    VerificationPolicy,
    VerificationRecord,
    VerificationState,
)
from server.verification.repository import VerificationRepository
from server.verification.templates import DEFAULT_TEMPLATE, TEMPLATE_NAME, render_template


def requester_key(key_id: uuid.UUID, store_code: str | None, terminal_id: str | None) -> str:
    """Who asks, for rate limits and ownership: the till if known, else the API key."""
    if store_code and terminal_id:
        return f"terminal:{store_code}/{terminal_id}"
    return f"key:{key_id}"


async def resolve_subject(
    members: MemberRepository, *, card_number: str, phone: str, region: str
) -> tuple[MemberInfo, CardInfo]:
    """The member and the card to verify, from a card number or (sale by phone) a phone."""
    if card_number:
        card = await members.card(card_number)
        if card is None:
            raise entity_not_found("card", card_number, "CARD_NOT_FOUND")
        if card.member_id is None:
            raise DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ASSIGNED",
                              f"card {card_number} belongs to no member")
        if card.state is not CardState.ACTIVE:
            raise errors.card_not_active(card.number, card.state.value)
        member = await members.member(card.member_id)
        assert member is not None  # the foreign key guarantees it
        return member, card
    if not phone:
        raise invalid("subject", "one of card_number or phone is required")
    try:
        normalized = normalize_phone(phone, region)
    except ValueError as exc:
        raise invalid("phone", str(exc)) from None
    member_id = await members.member_id_by_contact(phone=normalized)
    member = None if member_id is None else await members.member(member_id)
    if member is None:
        raise entity_not_found("member", normalized, "MEMBER_NOT_FOUND")
    active = [c for c in member.cards if c.state is CardState.ACTIVE]  # newest first
    if not active:
        raise errors.member_has_no_active_card(str(member.id))
    return member, active[0]


def _check_limit(sends: RecentSends, limit: int, window: dt.timedelta, scope: str,
                 now: dt.datetime) -> None:
    if sends.count >= limit:
        oldest = sends.oldest or now
        raise errors.rate_limited(scope, limit, int(window.total_seconds()),
                                  (oldest + window - now).total_seconds())


async def send_code(
    repo: VerificationRepository, members: MemberRepository, *, card_number: str, phone: str,
    requester: str, policy: VerificationPolicy, now: dt.datetime, region: str,
    operation: Operation, max_amount: int,
) -> SentCode:
    """Create a verification of one spend (`operation`, at most `max_amount`) and queue its
    SMS; refuses with a clear reason otherwise."""
    member, card = await resolve_subject(members, card_number=card_number, phone=phone,
                                         region=region)
    target = member.profile.phone
    if not target:
        raise errors.member_has_no_phone(str(member.id))
    await repo.lock_send_keys(sorted({f"phone:{target}", f"requester:{requester}"}))
    _check_limit(await repo.recent_by_requester(requester, now - policy.terminal_window),
                 policy.terminal_limit, policy.terminal_window, "terminal", now)
    _check_limit(await repo.recent_by_phone(target, now - policy.phone_window),
                 policy.phone_limit, policy.phone_window, "phone", now)

    template = await repo.template(TEMPLATE_NAME)
    body = template.body if template else DEFAULT_TEMPLATE
    verification_id = uuid.uuid4()
    code = generate_code()
    values = {"minutes": str(max(1, int(policy.code_ttl.total_seconds()) // 60)),
              "first_name": member.profile.first_name, "card_last4": card.number[-4:]}
    text = render_template(body, {**values, "code": code})
    masked = render_template(body, {**values, "code": "*" * len(code)})
    mailing_id = await repo.enqueue_sms(target, text, masked, f"verification:{verification_id}")
    salt = new_salt()
    expires = now + policy.code_ttl
    await repo.add(VerificationRecord(
        id=verification_id, card_number=card.number, member_id=member.id, phone=target,
        requester=requester, code_hash=hash_code(salt, verification_id, code), salt=salt,
        state=VerificationState.PENDING, attempts=0, max_attempts=policy.max_attempts,
        mailing_id=mailing_id, created_at=now, expires_at=expires, operation=operation,
        max_amount=max_amount))
    return SentCode(verification_id, expires, mask_phone(target), card.number,
                    policy.max_attempts)
