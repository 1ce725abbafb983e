"""How much of a member each caller sees: the one view function every RPC applies.

A view is data on the caller's roles (server/auth/roles.py): the profile fields it shows,
whether the phone is masked, and whether VIP members exist for it at all. The seeded roles
keep the two views the program had before roles were data:

- the sale view (`cashier`, `store_backend`, `integrator`): a till greets the customer and
  checks the card; it needs the first name, the phone masked (enough to confirm "is this
  your number?" before an SMS code is sent), the cards with their states and, through
  BonusService.GetBalance, the balances; no last or middle name, birth date, address,
  e-mail, gender or social ids. The online store gets the same: the customer is signed in
  to the shop's own account and types the address and e-mail into the shop's own form, and
  one shop key serves every web customer, so a leaked shop key must not be a way to
  download the member base. Integrators send personal data in but never need it back.
- the full view (`operator`, `admin`): every field as stored.

A key with several roles sees the union of their fields; its phone is unmasked when any of
its roles shows the phone unmasked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from server.members.contacts import mask_phone
from server.members.model import MemberInfo, Profile


@dataclass(frozen=True, slots=True)
class MemberView:
    """One way of showing members."""

    fields: frozenset[str]  # the profile fields shown; the others are empty
    mask_phone: bool = True  # the phone, when shown, as +38093***4567
    vip: bool = False  # VIP members exist for this caller (see and edit them)


def combined(views: Iterable[MemberView]) -> MemberView:
    """What a caller holding every one of `views` sees."""
    fields: set[str] = set()
    masked = True
    vip = False
    for view in views:
        fields |= view.fields
        masked = masked and (view.mask_phone or "phone" not in view.fields)
        vip = vip or view.vip
    return MemberView(frozenset(fields), mask_phone=masked, vip=vip)


def shown(member: MemberInfo, view: MemberView) -> MemberInfo:
    """`member` as a caller with `view` may see it (a copy; the input is not changed).

    Ids, the registration channel and the cards stay: they identify the member and the
    card's state decides whether a sale may use it. A VIP member reaches this function only
    for callers whose view has `vip` (the use cases answer NOT_FOUND to the others).
    """
    profile = Profile(**{name: getattr(member.profile, name) for name in view.fields})
    if "social_ids" in view.fields:
        profile.social_ids = dict(member.profile.social_ids)
    if view.mask_phone and profile.phone:
        profile.phone = mask_phone(profile.phone)
    return replace(member, profile=profile, cards=list(member.cards),
                   vip=member.vip and view.vip)
