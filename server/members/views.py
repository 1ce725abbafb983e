"""How much of a member each caller sees: the whole profile, or what a sale needs.

A till (role `cashier`) greets the customer and checks the card; it needs the first name,
the phone masked (enough to confirm "is this your number?" before an SMS code is sent), the
cards with their states and, through BonusService.GetBalance, the balances. It needs no
last or middle name, birth date, address, e-mail, gender or social ids.

The online store (role `store_backend`) gets the same sale view. At checkout it names the
customer and shows their cards and balance; the customer is signed in to the shop's own
account and types the delivery address and e-mail into the shop's own form, so the program
need not hand them out. One shop key serves every web customer, and a leaked shop key must
not be a way to download the member base.

Operators and admins hold `members.read_personal` and see everything. The view is chosen by
that permission, not by role names, so roles stay data (server/auth/permissions.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from enum import StrEnum

from server.auth.permissions import Permission
from server.members.contacts import mask_phone
from server.members.model import MemberInfo, Profile


class MemberView(StrEnum):
    """One way of showing a member."""

    FULL = "full"  # the profile as stored
    SALE = "sale"  # first name and masked phone; cards as stored


def view_for(permissions: Collection[Permission]) -> MemberView:
    """The view a caller holding `permissions` gets."""
    if Permission.MEMBERS_READ_PERSONAL in permissions:
        return MemberView.FULL
    return MemberView.SALE


def sale_profile(profile: Profile) -> Profile:
    """The first name and the masked phone; every other field empty."""
    return Profile(first_name=profile.first_name,
                   phone=mask_phone(profile.phone) if profile.phone else None)


def shown(member: MemberInfo, view: MemberView) -> MemberInfo:
    """`member` as a caller with `view` may see it (a copy; the input is not changed).

    Ids, the registration channel and the cards stay: they identify the member and the
    card's state decides whether a sale may use it.
    """
    if view is MemberView.FULL:
        return member
    return dataclasses.replace(member, profile=sale_profile(member.profile),
                               cards=list(member.cards))
