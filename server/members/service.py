"""Member and card use cases: validation, uniqueness, numbering, state changes.

Each function runs inside one transaction given by the caller through the repository.
`sees_vip` is whether the caller's roles have read on vip_members: without it a VIP member
and their cards are answered exactly as an unknown member or card (NOT_FOUND, same reason,
same message), so their existence does not leak.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import replace

from server.errors import DomainError, ErrorKind, Violations, invalid, not_found
from server.events.schema import new_event
from server.members.cards import STATES_NEEDING_REASON, CardState, can_transition, card_number
from server.members.contacts import normalize_email, normalize_phone
from server.members.model import (
    PROFILE_FIELDS,
    CardInfo,
    MemberInfo,
    Profile,
    PurchaseInfo,
    RegistrationChannel,
)
from server.members.repository import MemberRepository

ALLOWED_GENDERS = frozenset({"", "female", "male"})
ALLOWED_MARITAL = frozenset({"", "single", "married"})


def normalized_profile(raw: Profile, region: str, prefix: str = "profile") -> Profile:
    """A copy with phone/email normalized; every bad field reported at once."""
    errors = Violations()
    phone = email = None
    if raw.phone:
        try:
            phone = normalize_phone(raw.phone, region)
        except ValueError as exc:
            errors.add(f"{prefix}.phone", str(exc))
    if raw.email:
        try:
            email = normalize_email(raw.email)
        except ValueError as exc:
            errors.add(f"{prefix}.email", str(exc))
    if raw.gender not in ALLOWED_GENDERS:
        errors.add(f"{prefix}.gender", "unknown gender")
    if raw.marital_status not in ALLOWED_MARITAL:
        errors.add(f"{prefix}.marital_status", "unknown marital status")
    for name in ("first_name", "last_name", "middle_name"):
        if len(getattr(raw, name)) > 200:
            errors.add(f"{prefix}.{name}", "longer than 200 characters")
    errors.raise_if_any()
    return replace(raw, phone=phone, email=email, first_name=raw.first_name.strip(),
                   last_name=raw.last_name.strip(), middle_name=raw.middle_name.strip())


async def _ensure_contacts_free(
    repo: MemberRepository, profile: Profile, member_id: uuid.UUID | None = None, *,
    sees_vip: bool,
) -> None:
    """A phone or e-mail is one member's. Taken by a VIP the caller may not see, it is
    refused all the same (uniqueness cannot be hidden) but without the member's id."""
    for field_name in ("phone", "email"):
        value = getattr(profile, field_name)
        if not value:
            continue
        owner = await repo.member_id_by_contact(**{field_name: value})
        if owner is not None and owner != member_id:
            metadata = {"field": f"profile.{field_name}"}
            if sees_vip or not await _is_vip(repo, owner):
                metadata["member_id"] = str(owner)
            raise DomainError(
                ErrorKind.ALREADY_EXISTS, "MEMBER_ALREADY_EXISTS",
                f"a member with this {field_name} already exists", metadata=metadata,
            )


async def _is_vip(repo: MemberRepository, member_id: uuid.UUID) -> bool:
    member = await repo.member(member_id)
    return member is not None and member.vip


async def register_member(
    repo: MemberRepository,
    raw: Profile,
    channel: RegistrationChannel,
    *,
    issue_card_type: str | None,
    region: str,
    principal: str,
    sees_vip: bool,
) -> MemberInfo:
    """Register a member unique by phone and e-mail, optionally with an active first card."""
    profile = normalized_profile(raw, region)
    if not profile.phone and not profile.email:
        raise invalid("profile.phone", "phone or email is required")
    await _ensure_contacts_free(repo, profile, sees_vip=sees_vip)
    member_id = uuid.uuid4()
    await repo.add_member(member_id, profile, channel)
    card = None
    if issue_card_type:
        card = await issue_card(repo, member_id, issue_card_type, activate=True,
                                principal=principal, field_path="issue_card_type",
                                sees_vip=sees_vip)
    member = await get_member(repo, member_id, sees_vip=sees_vip)
    await repo.emit(new_event(
        "member.registered", member_id=member_id, registration_channel=channel.value,
        card_number=card.number if card else None, card_type=card.card_type if card else None,
        registered_at=member.created_at))
    return member


async def get_member(repo: MemberRepository, member_id: uuid.UUID, *,
                     sees_vip: bool) -> MemberInfo:
    """The member with cards, or NOT_FOUND (also for a VIP the caller may not see)."""
    member = await repo.member(member_id)
    if member is None or (member.vip and not sees_vip):
        raise not_found("member", str(member_id), "MEMBER_NOT_FOUND")
    return member


async def set_vip(repo: MemberRepository, member_id: uuid.UUID, vip: bool, *,
                  sees_vip: bool) -> MemberInfo:
    """Mark or unmark a member VIP (a caller that does not see VIPs cannot unmark one)."""
    member = await get_member(repo, member_id, sees_vip=sees_vip)
    if member.vip != vip:
        await repo.update_member(member_id, {"vip": vip})
        member = replace(member, vip=vip)
    return member


async def _card_of_visible_member(repo: MemberRepository, card: CardInfo | None, number: str,
                                  sees_vip: bool) -> CardInfo:
    """`card`, or CARD_NOT_FOUND when it is missing or belongs to a VIP hidden from the
    caller."""
    if card is None or (card.member_id is not None and not sees_vip
                        and await _is_vip(repo, card.member_id)):
        raise not_found("card", number, "CARD_NOT_FOUND")
    return card


async def find_member(
    repo: MemberRepository, *, card_number: str = "", phone: str = "", email: str = "",
    region: str, sees_vip: bool,
) -> MemberInfo:
    """Find by exactly one of card number, phone or e-mail."""
    if card_number:
        card = await _card_of_visible_member(repo, await repo.card(card_number), card_number,
                                             sees_vip)
        if card.member_id is None:
            raise not_found("card", card_number, "CARD_NOT_FOUND")
        return await get_member(repo, card.member_id, sees_vip=sees_vip)
    if phone:
        try:
            key = {"phone": normalize_phone(phone, region)}
        except ValueError as exc:
            raise invalid("phone", str(exc)) from None
    elif email:
        try:
            key = {"email": normalize_email(email)}
        except ValueError as exc:
            raise invalid("email", str(exc)) from None
    else:
        raise invalid("key", "one of card_number, phone, email is required")
    member_id = await repo.member_id_by_contact(**key)
    if member_id is None or (not sees_vip and await _is_vip(repo, member_id)):
        raise not_found("member", next(iter(key.values())), "MEMBER_NOT_FOUND")
    return await get_member(repo, member_id, sees_vip=sees_vip)


def _as_text(value: object) -> str | None:
    return None if value is None else str(value)


async def update_profile(
    repo: MemberRepository,
    member_id: uuid.UUID,
    raw: Profile,
    fields: Iterable[str],
    *,
    source: str,
    region: str,
    principal: str,
    sees_vip: bool,
) -> MemberInfo:
    """Change the listed fields, logging old and new values with their source."""
    fields = list(dict.fromkeys(fields))
    errors = Violations()
    if not source.strip():
        errors.add("source", "required: where the new data came from")
    if not fields:
        errors.add("update_fields", "name at least one field")
    for i, name in enumerate(fields):
        if name not in PROFILE_FIELDS:
            errors.add(f"update_fields[{i}]", f"unknown profile field {name!r}")
    errors.raise_if_any()
    profile = normalized_profile(raw, region)
    current = await get_member(repo, member_id, sees_vip=sees_vip)
    merged = replace(current.profile, **{name: getattr(profile, name) for name in fields})
    if not merged.phone and not merged.email:
        raise invalid("profile.phone", "a member needs a phone or an email")
    await _ensure_contacts_free(repo, merged, member_id, sees_vip=sees_vip)
    changes = {
        name: getattr(merged, name) for name in fields
        if getattr(merged, name) != getattr(current.profile, name)
    }
    if changes:
        await repo.update_member(member_id, changes)
        for name, new in changes.items():
            await repo.add_contact_change(
                member_id, name, _as_text(getattr(current.profile, name)), _as_text(new),
                source.strip(), principal,
            )
    return await get_member(repo, member_id, sees_vip=sees_vip)


async def issue_card(
    repo: MemberRepository,
    member_id: uuid.UUID | None,
    card_type: str,
    *,
    activate: bool,
    principal: str,
    replaces: str | None = None,
    field_path: str = "card_type",
    sees_vip: bool,
) -> CardInfo:
    """Generate the next number of the card type and create the card."""
    ctype = await repo.card_type(card_type)
    if ctype is None:
        raise invalid(field_path, f"unknown card type {card_type!r}", "CARD_TYPE_NOT_FOUND")
    if member_id is not None:
        await get_member(repo, member_id, sees_vip=sees_vip)
    number = card_number(ctype.number_prefix, await repo.take_card_sequence(card_type))
    state = CardState.ACTIVE if activate else CardState.NEW
    await repo.add_card(number, card_type, member_id, state, replaces)
    await repo.set_card_state(number, None, state, "issued", principal)
    card = await repo.card(number)
    assert card is not None
    return card


async def _locked_card(repo: MemberRepository, number: str, sees_vip: bool) -> CardInfo:
    return await _card_of_visible_member(repo, await repo.card(number, for_update=True), number,
                                         sees_vip)


async def change_card_state(
    repo: MemberRepository, number: str, target: CardState, reason: str, *, principal: str,
    sees_vip: bool,
) -> CardInfo:
    """Move a card along the state machine; a move to the current state is a no-op."""
    card = await _locked_card(repo, number, sees_vip)
    if card.state == target:
        return card
    if not can_transition(card.state, target):
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION, "CARD_STATE_TRANSITION_INVALID",
            f"card {number} cannot go from {card.state} to {target}",
            metadata={"from": card.state.value, "to": target.value},
        )
    if target in STATES_NEEDING_REASON and not reason.strip():
        raise invalid("reason", f"required when the card becomes {target}")
    await repo.set_card_state(number, card.state, target, reason.strip(), principal)
    if target is CardState.BLOCKED:
        await repo.emit(new_event("card.blocked", card_number=number, member_id=card.member_id,
                                  card_type=card.card_type, reason=reason.strip()))
    return replace(card, state=target)


async def replace_card(
    repo: MemberRepository, number: str, reason: str, *, principal: str, sees_vip: bool
) -> tuple[CardInfo, CardInfo]:
    """Close a (lost) card and issue an active one of the same type to the same member.

    Balances live on the member, so nothing needs moving: the new card sees them at once.
    """
    if not reason.strip():
        raise invalid("reason", "required: why the card is replaced")
    card = await _locked_card(repo, number, sees_vip)
    if card.state in (CardState.CLOSED, CardState.COMPLETED):
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_STATE_TRANSITION_INVALID",
                          f"card {number} is {card.state} and cannot be replaced")
    if card.member_id is None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ASSIGNED",
                          f"card {number} belongs to no member")
    closed = await change_card_state(repo, number, CardState.CLOSED,
                                     f"replaced: {reason.strip()}", principal=principal,
                                     sees_vip=sees_vip)
    new = await issue_card(repo, card.member_id, card.card_type, activate=True,
                           principal=principal, replaces=number, sees_vip=sees_vip)
    return closed, new


async def list_purchases(
    repo: MemberRepository,
    member_id: uuid.UUID | None,
    before: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
    stores: frozenset[str] | None = None,
    card_number: str = "",
    *,
    sees_vip: bool,
) -> list[PurchaseInfo]:
    """One page of the member's confirmed receipts, newest first (keyset paging); only
    receipts of `stores` when given (server.auth.scope.visible_stores decides them).
    The member is `member_id`, or when that is None the holder of `card_number` (a VIP's
    card is unknown to a caller who does not see VIP members)."""
    if member_id is None:
        card = await repo.card(card_number)
        if card is None or card.member_id is None:
            raise not_found("card", card_number, "CARD_NOT_FOUND")
        try:
            await get_member(repo, card.member_id, sees_vip=sees_vip)
        except DomainError as error:
            if error.reason == "MEMBER_NOT_FOUND":
                raise not_found("card", card_number, "CARD_NOT_FOUND") from None
            raise
        member_id = card.member_id
    await get_member(repo, member_id, sees_vip=sees_vip)
    return await repo.purchases(member_id, before, limit, stores)
