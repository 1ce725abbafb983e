"""Protobuf <-> domain conversions shared by the servicers."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import common_pb2, members_pb2

from server.errors import Violations, invalid
from server.members.cards import CardState
from server.members.model import CardInfo, MemberInfo, Profile, RegistrationChannel
from server.members.views import MemberView, shown

K = TypeVar("K")
V = TypeVar("V")

GENDERS = {members_pb2.GENDER_UNSPECIFIED: "", members_pb2.GENDER_FEMALE: "female",
           members_pb2.GENDER_MALE: "male"}
MARITAL = {members_pb2.MARITAL_STATUS_UNSPECIFIED: "", members_pb2.MARITAL_STATUS_SINGLE: "single",
           members_pb2.MARITAL_STATUS_MARRIED: "married"}
CHANNELS = {
    members_pb2.REGISTRATION_CHANNEL_OPERATOR: RegistrationChannel.OPERATOR,
    members_pb2.REGISTRATION_CHANNEL_WEB_CABINET: RegistrationChannel.WEB_CABINET,
    members_pb2.REGISTRATION_CHANNEL_PAPER_QUESTIONNAIRE: RegistrationChannel.PAPER_QUESTIONNAIRE,
    members_pb2.REGISTRATION_CHANNEL_POS: RegistrationChannel.POS,
}
CARD_STATES = {
    members_pb2.CARD_STATE_NEW: CardState.NEW,
    members_pb2.CARD_STATE_ACTIVE: CardState.ACTIVE,
    members_pb2.CARD_STATE_BLOCKED: CardState.BLOCKED,
    members_pb2.CARD_STATE_CLOSED: CardState.CLOSED,
    members_pb2.CARD_STATE_COMPLETED: CardState.COMPLETED,
}


def _inverse(mapping: dict[K, V]) -> dict[V, K]:
    return {v: k for k, v in mapping.items()}


CHANNEL_TO_PB = _inverse(CHANNELS)
CARD_STATE_TO_PB = _inverse(CARD_STATES)


def timestamp(value: dt.datetime | None) -> Timestamp | None:
    """A datetime as a protobuf Timestamp (None stays unset)."""
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def time_field(message: Message, name: str, errors: Violations,
               path: str | None = None) -> dt.datetime | None:
    """An optional Timestamp field as an aware UTC datetime, None when unset. A time out of
    Timestamp's range goes on `errors` as `path` (default: the field name), not INTERNAL."""
    if not message.HasField(name):
        return None
    value: Timestamp = getattr(message, name)  # callers name a Timestamp field
    try:
        return value.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        errors.add(path or name, "not a valid time (years 1 to 9999)")
        return None


def profile_from_pb(pb: members_pb2.MemberProfile, field_path: str = "profile") -> Profile:
    """Proto profile -> domain profile; bad dates and enum values name their field."""
    birth = None
    if pb.birth_date:
        try:
            birth = dt.date.fromisoformat(pb.birth_date)
        except ValueError:
            raise invalid(f"{field_path}.birth_date", "must be YYYY-MM-DD") from None
        if not dt.date(1900, 1, 1) <= birth <= dt.date.today():
            raise invalid(f"{field_path}.birth_date", "must be between 1900-01-01 and today")
    if pb.gender not in GENDERS:
        raise invalid(f"{field_path}.gender", "unknown value")
    if pb.marital_status not in MARITAL:
        raise invalid(f"{field_path}.marital_status", "unknown value")
    return Profile(
        first_name=pb.first_name, last_name=pb.last_name, middle_name=pb.middle_name,
        gender=GENDERS[pb.gender], birth_date=birth, marital_status=MARITAL[pb.marital_status],
        address=pb.address, phone=pb.phone or None, email=pb.email or None,
        social_ids=dict(pb.social_ids),
    )


def profile_to_pb(profile: Profile) -> members_pb2.MemberProfile:
    return members_pb2.MemberProfile(
        first_name=profile.first_name, last_name=profile.last_name,
        middle_name=profile.middle_name, gender=_inverse(GENDERS)[profile.gender],
        birth_date=profile.birth_date.isoformat() if profile.birth_date else "",
        marital_status=_inverse(MARITAL)[profile.marital_status], address=profile.address,
        phone=profile.phone or "", email=profile.email or "", social_ids=profile.social_ids,
    )


def card_to_pb(card: CardInfo) -> members_pb2.Card:
    return members_pb2.Card(
        number=card.number, card_type=card.card_type, state=CARD_STATE_TO_PB[card.state],
        member_id=str(card.member_id) if card.member_id else "",
        replaces_number=card.replaces_number or "", create_time=timestamp(card.created_at),
    )


def member_to_pb(member: MemberInfo, view: MemberView) -> members_pb2.Member:
    """A member as a caller with `view` may see it; no member leaves without a view."""
    member = shown(member, view)
    return members_pb2.Member(
        member_id=str(member.id), profile=profile_to_pb(member.profile),
        registration_channel=CHANNEL_TO_PB[member.channel],
        cards=[card_to_pb(c) for c in member.cards], create_time=timestamp(member.created_at),
        vip=member.vip,
    )


def money(amount_minor: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount_minor, currency=currency)
