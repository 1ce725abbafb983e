"""Member and card values passed between the domain, the database and the API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from server.members.cards import CardState


class RegistrationChannel(StrEnum):
    """How a member joined (seed 003: questionnaire, web cabinet, operator)."""

    OPERATOR = "operator"
    WEB_CABINET = "web_cabinet"
    PAPER_QUESTIONNAIRE = "paper_questionnaire"
    POS = "pos"


@dataclass(slots=True)
class Profile:
    """Personal data; phone and email are normalized before they get here."""

    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    gender: str = ""
    birth_date: dt.date | None = None
    marital_status: str = ""
    address: str = ""
    phone: str | None = None
    email: str | None = None
    social_ids: dict[str, str] = field(default_factory=dict)


PROFILE_FIELDS = tuple(Profile.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class CardInfo:
    """A card as read from storage."""

    number: str
    card_type: str
    state: CardState
    member_id: uuid.UUID | None
    replaces_number: str | None
    created_at: dt.datetime


@dataclass(slots=True)
class MemberInfo:
    """A member with cards, as read from storage."""

    id: uuid.UUID
    profile: Profile
    channel: RegistrationChannel
    created_at: dt.datetime
    cards: list[CardInfo] = field(default_factory=list)
    vip: bool = False  # only roles with the VIP right see or edit the member (views.py)


@dataclass(frozen=True, slots=True)
class CardTypeInfo:
    """A card type as the domain needs it."""

    code: str
    name: str
    accrual_bps: int
    number_prefix: str
    requires_verification: bool


@dataclass(frozen=True, slots=True)
class PurchaseInfo:
    """One confirmed receipt in a member's history, with what became of it since."""

    receipt_id: uuid.UUID
    store_code: str
    receipt_number: str
    card_number: str | None
    total_minor: int
    discount_total_minor: int
    currency: str
    confirmed_at: dt.datetime
    state: str = "confirmed"  # partially_refunded, refunded, cancelled
    refunded_minor: int = 0  # part of the total refunded or cancelled so far
