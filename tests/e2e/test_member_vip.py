"""Field-level views from the roles and VIP members (issue 12), through the generated client
on a real server: one view in every RPC that returns a member, and VIP members that exist
only for roles with read on vip_members, while a sale by their card still works."""

from __future__ import annotations

import uuid

import grpc
import pytest
from kopilka.v1 import bonus_pb2, members_pb2
from kopilka.v1 import roles_pb2 as RP

from server.auth.principal import PrincipalKind
from server.demo import load_demo_data
from tests.e2e.test_member_views import FULL_PROFILE, register, sale, till
from tests.e2e.test_roles import role
from tests.helpers import rid, rpc_error

M = members_pb2


@pytest.fixture
async def demo(app) -> None:  # type: ignore[no-untyped-def]
    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh()


async def test_a_roles_view_applies_in_every_rpc_that_returns_members(
        demo, admin, make_key, client_for):
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "helpdesk", "members.read", "members.create", "members.update", "vip_members.read",
        "vip_members.update", fields=("first_name", "last_name", "phone", "email"))))
    desk = client_for(await make_key("helpdesk"))
    seen = M.MemberProfile(first_name="Petro", last_name="Hnatyuk", phone="+38093***4567",
                           email="petro@example.com")

    registered = (await desk.members.RegisterMember(register())).member
    member_id, card = registered.member_id, registered.cards[0].number
    answers = {"RegisterMember": registered}
    answers["GetMember"] = (await desk.members.GetMember(M.GetMemberRequest(
        member_id=member_id))).member
    for key in ({"card_number": card}, {"phone": "093 123 45 67"},
                {"email": "petro@example.com"}):
        answers[f"FindMember {key}"] = (await desk.members.FindMember(
            M.FindMemberRequest(**key))).member
    answers["UpdateMemberProfile"] = (await desk.members.UpdateMemberProfile(
        M.UpdateMemberProfileRequest(
            request_id=str(uuid.uuid4()), member_id=member_id, update_fields=["address"],
            profile=M.MemberProfile(address="Lviv, Rynok 1"), source="call center"))).member
    answers["SetMemberVip"] = (await desk.members.SetMemberVip(M.SetMemberVipRequest(
        request_id=rid(),
        member_id=member_id, vip=False))).member
    assert {name: a.profile for name, a in answers.items()} == {
        name: seen for name in answers}
    assert all(a.cards[0].number == card for a in answers.values())

    # The same member in full for the admin, in the sale view for a till.
    full = (await admin.members.GetMember(M.GetMemberRequest(member_id=member_id))).member
    assert full.profile.birth_date == FULL_PROFILE.birth_date
    assert full.profile.address == "Lviv, Rynok 1"
    cashier = await till(make_key, client_for)
    got = (await cashier.members.GetMember(M.GetMemberRequest(member_id=member_id))).member
    assert got.profile == M.MemberProfile(first_name="Petro", phone="+38093***4567")

    # A second role that shows the phone unmasked unmasks it for a key holding both.
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "phone_line", "members.read", fields=("phone",), mask=False)))
    both = client_for(await make_key("helpdesk", "phone_line"))
    got = (await both.members.GetMember(M.GetMemberRequest(member_id=member_id))).member
    assert got.profile.phone == "+380931234567" and got.profile.last_name == "Hnatyuk"


async def not_found(call) -> tuple[grpc.StatusCode | None, str, str]:  # type: ignore[no-untyped-def]
    with rpc_error() as failure:
        await call
    return failure.code, failure.reason, failure.message


async def test_vip_members_exist_only_for_roles_with_the_vip_right(
        demo, admin, make_key, client_for):
    member = (await admin.members.RegisterMember(register())).member
    member_id, card = member.member_id, member.cards[0].number
    operator = client_for(await make_key("operator"))
    assert (await operator.members.GetMember(M.GetMemberRequest(member_id=member_id))
            ).member.vip is False

    marked = (await admin.members.SetMemberVip(M.SetMemberVipRequest(request_id=rid(),
        member_id=member_id, vip=True))).member
    assert marked.vip and marked.profile == FULL_PROFILE
    with rpc_error() as failure:  # marking needs update on vip_members
        await operator.members.SetMemberVip(M.SetMemberVipRequest(
            request_id=rid(), member_id=member_id))
    assert failure.reason == "PERMISSION_DENIED"

    unknown_id, unknown_card = str(uuid.uuid4()), "2900999999999"

    def member_missing(key: str) -> tuple[grpc.StatusCode, str, str]:
        return grpc.StatusCode.NOT_FOUND, "MEMBER_NOT_FOUND", f"member {key!r} not found"

    def card_missing(key: str) -> tuple[grpc.StatusCode, str, str]:
        return grpc.StatusCode.NOT_FOUND, "CARD_NOT_FOUND", f"card {key!r} not found"

    m = operator.members
    # An unknown member and card answer exactly so ...
    assert await not_found(m.GetMember(M.GetMemberRequest(member_id=unknown_id))) == \
        member_missing(unknown_id)
    assert await not_found(m.FindMember(M.FindMemberRequest(card_number=unknown_card))) == \
        card_missing(unknown_card)
    # ... and so does the VIP, in every member RPC.
    calls = {
        "GetMember": (m.GetMember(M.GetMemberRequest(member_id=member_id)),
                      member_missing(member_id)),
        "FindMember card": (m.FindMember(M.FindMemberRequest(card_number=card)),
                            card_missing(card)),
        "FindMember phone": (m.FindMember(M.FindMemberRequest(phone="+380931234567")),
                             member_missing("+380931234567")),
        "FindMember email": (m.FindMember(M.FindMemberRequest(email="petro@example.com")),
                             member_missing("petro@example.com")),
        "ListPurchases": (m.ListPurchases(M.ListPurchasesRequest(member_id=member_id)),
                          member_missing(member_id)),
        "UpdateMemberProfile": (m.UpdateMemberProfile(M.UpdateMemberProfileRequest(
            request_id=str(uuid.uuid4()), member_id=member_id, update_fields=["address"],
            profile=M.MemberProfile(address="x"), source="call")), member_missing(member_id)),
        "IssueCard": (m.IssueCard(M.IssueCardRequest(
            request_id=str(uuid.uuid4()), member_id=member_id, card_type="silver")),
                      member_missing(member_id)),
        "ChangeCardState": (m.ChangeCardState(M.ChangeCardStateRequest(
            request_id=str(uuid.uuid4()), card_number=card, state=M.CARD_STATE_BLOCKED,
            reason="lost")), card_missing(card)),
        "ReplaceCard": (m.ReplaceCard(M.ReplaceCardRequest(
            request_id=str(uuid.uuid4()), card_number=card, reason="lost")),
                        card_missing(card)),
    }
    answers = {name: await not_found(call) for name, (call, _) in calls.items()}
    assert answers == {name: expected for name, (_, expected) in calls.items()}

    # The phone stays taken (uniqueness cannot be hidden) but the VIP's id is not told.
    with rpc_error() as failure:
        await operator.members.RegisterMember(register())
    assert failure.reason == "MEMBER_ALREADY_EXISTS" and "member_id" not in failure.metadata

    # A sale by the VIP's card still works at a till: the card is in the customer's hand.
    cashier = await till(make_key, client_for)
    calc = await cashier.receipts.CalculateReceipt(sale("kyiv-01", card))
    assert calc.total.amount_minor > 0
    await cashier.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))

    # A role with read on vip_members sees and edits VIP members.
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "vip_desk", "members.read", "members.update", "vip_members.read",
        fields=("first_name",))))
    desk = client_for(await make_key("vip_desk"))
    got = (await desk.members.FindMember(M.FindMemberRequest(card_number=card))).member
    assert got.vip and got.profile == M.MemberProfile(first_name="Petro")
    await desk.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
        request_id=str(uuid.uuid4()), member_id=member_id, update_fields=["first_name"],
        profile=M.MemberProfile(first_name="Petryk"), source="vip desk"))

    # Unmarked, the member is back for everyone.
    await admin.members.SetMemberVip(M.SetMemberVipRequest(
        request_id=rid(), member_id=member_id, vip=False))
    got = (await operator.members.GetMember(M.GetMemberRequest(member_id=member_id))).member
    assert got.profile.first_name == "Petryk" and not got.vip


async def test_a_vip_grant_scoped_to_a_store_hides_vips_from_wider_keys(
        demo, admin, make_key, client_for):
    member = (await admin.members.RegisterMember(register())).member
    await admin.members.SetMemberVip(M.SetMemberVipRequest(
        request_id=rid(), member_id=member.member_id, vip=True))
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=role(
        "store_vip", "members.read", "vip_members.read@own_store", fields=("first_name",))))
    bound = client_for(await make_key("store_vip", kind=PrincipalKind.STORE_BACKEND,
                                      store_code="kyiv-01"))
    wide = client_for(await make_key("store_vip"))
    request = M.GetMemberRequest(member_id=member.member_id)
    assert (await bound.members.GetMember(request)).member.vip
    assert (await not_found(wide.members.GetMember(request)))[1] == "MEMBER_NOT_FOUND"
