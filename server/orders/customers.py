"""Who orders: the member found by card, phone or e-mail, or registered on the way
(through the members service, so the same uniqueness and normalization apply)."""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import DomainError, invalid
from server.members import service as members
from server.members.cards import CardState
from server.members.model import MemberInfo, Profile, RegistrationChannel
from server.members.repository import MemberRepository


@dataclass(frozen=True, slots=True)
class CustomerData:
    """The customer as the online store sends it."""

    card_number: str = ""
    phone: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    issue_card_type: str = ""


@dataclass(frozen=True, slots=True)
class Customer:
    """The member ordering, the card the order uses (None: no card), whether new."""

    member: MemberInfo
    card_number: str | None
    registered: bool


async def find_or_register(repo: MemberRepository, data: CustomerData, *, region: str,
                           principal: str, sees_vip: bool) -> Customer:
    """By card first (an unknown card is an error, not a registration), then phone, then
    e-mail; nobody found: registered from the web with the data given."""
    if not (data.card_number or data.phone or data.email):
        raise invalid("customer", "card_number, phone or email is required")
    if data.card_number:
        member = await members.find_member(repo, card_number=data.card_number, region=region,
                                           sees_vip=sees_vip)
        return Customer(member, data.card_number, False)
    try:
        member = await members.find_member(repo, phone=data.phone, email=data.email,
                                           region=region, sees_vip=sees_vip)
        registered = False
    except DomainError as error:
        if error.reason != "MEMBER_NOT_FOUND":
            raise
        profile = Profile(first_name=data.first_name, last_name=data.last_name,
                          phone=data.phone or None, email=data.email or None)
        member = await members.register_member(
            repo, profile, RegistrationChannel.WEB_CABINET,
            issue_card_type=data.issue_card_type or None, region=region, principal=principal,
            sees_vip=sees_vip)
        registered = True
    card = next((c.number for c in member.cards if c.state is CardState.ACTIVE), None)
    return Customer(member, card, registered)
