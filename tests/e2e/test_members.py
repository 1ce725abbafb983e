"""Members and cards through the generated client against a real server and PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
from kopilka.v1 import admin_pb2, members_pb2

from server.members.cards import is_valid_ean13
from tests.helpers import rid, rpc_error

M = members_pb2


async def setup_card_types(admin) -> None:
    for code, bps, prefix in (("silver", 500, "2900"), ("gold", 1000, "2910")):
        await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
            card_type=admin_pb2.CardType(code=code, name=code.title(), accrual_bps=bps,
                                         number_prefix=prefix)))


def register(phone: str = "067 123 45 67", email: str = "", card_type: str = "silver",
             request_id: str | None = None) -> M.RegisterMemberRequest:
    return M.RegisterMemberRequest(
        request_id=request_id or str(uuid.uuid4()),
        profile=M.MemberProfile(first_name="Olena", last_name="Koval", phone=phone, email=email,
                                birth_date="1990-05-17", gender=M.GENDER_FEMALE),
        channel=M.REGISTRATION_CHANNEL_WEB_CABINET, issue_card_type=card_type,
    )


async def test_register_normalizes_contacts_and_issues_ean13_card(admin):
    await setup_card_types(admin)
    reply = await admin.members.RegisterMember(register(email="  Olena@Example.COM "))
    member = reply.member
    assert member.profile.phone == "+380671234567"
    assert member.profile.email == "olena@example.com"
    assert member.registration_channel == M.REGISTRATION_CHANNEL_WEB_CABINET
    [card] = member.cards
    # prefix 2900, sequence 1; check digit: 2*1 + 9*3 + 1*3 = 32 -> (10 - 2) % 10 = 8
    assert card.number == "2900000000018"
    assert is_valid_ean13(card.number) and card.state == M.CARD_STATE_ACTIVE

    for key in ({"card_number": card.number}, {"phone": "+38 (067) 123-45-67"},
                {"email": "OLENA@example.com"}):
        found = await admin.members.FindMember(M.FindMemberRequest(**key))
        assert found.member.member_id == member.member_id


async def test_register_is_idempotent_and_unique_by_phone(admin):
    await setup_card_types(admin)
    request = register()
    first = await admin.members.RegisterMember(request)
    again = await admin.members.RegisterMember(request)
    assert again == first  # same answer, no second member or card

    with rpc_error() as failure:
        await admin.members.RegisterMember(register(phone="+380671234567"))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "MEMBER_ALREADY_EXISTS"

    with rpc_error() as failure:  # same request id, different content
        await admin.members.RegisterMember(register(phone="+380501112233",
                                                    request_id=request.request_id))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "REQUEST_ID_REUSED" and failure.fields == ["request_id"]


async def test_bad_input_names_every_field_and_writes_nothing(admin):
    await setup_card_types(admin)
    bad = register(phone="12", email="not-an-email")
    with rpc_error() as failure:
        await admin.members.RegisterMember(bad)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["profile.phone", "profile.email"]

    with rpc_error() as failure:
        await admin.members.RegisterMember(register(card_type="platinum"))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["issue_card_type"]
    # the failed registration left no member behind: the phone is still free
    await admin.members.RegisterMember(register())

    with rpc_error() as failure:
        await admin.members.RegisterMember(M.RegisterMemberRequest(
            request_id="nope", profile=M.MemberProfile(phone="0671234567"),
            channel=M.REGISTRATION_CHANNEL_OPERATOR))
    assert failure.fields == ["request_id"]

    with rpc_error() as failure:
        await admin.members.GetMember(M.GetMemberRequest(member_id=str(uuid.uuid4())))
    assert failure.code == grpc.StatusCode.NOT_FOUND and failure.reason == "MEMBER_NOT_FOUND"


async def test_card_states_follow_the_lifecycle(admin):
    await setup_card_types(admin)
    member = (await admin.members.RegisterMember(register(card_type=""))).member
    card = (await admin.members.IssueCard(M.IssueCardRequest(
        request_id=str(uuid.uuid4()), member_id=member.member_id, card_type="gold"))).card
    assert card.state == M.CARD_STATE_NEW and card.number.startswith("2910")

    async def move(state: int, reason: str = "") -> M.Card:
        reply = await admin.members.ChangeCardState(M.ChangeCardStateRequest(
            request_id=str(uuid.uuid4()), card_number=card.number, state=state, reason=reason))
        return reply.card

    assert (await move(M.CARD_STATE_ACTIVE)).state == M.CARD_STATE_ACTIVE
    with rpc_error() as failure:
        await move(M.CARD_STATE_BLOCKED)
    assert failure.fields == ["reason"]
    assert (await move(M.CARD_STATE_BLOCKED, "suspected abuse")).state == M.CARD_STATE_BLOCKED
    assert (await move(M.CARD_STATE_ACTIVE)).state == M.CARD_STATE_ACTIVE
    assert (await move(M.CARD_STATE_COMPLETED)).state == M.CARD_STATE_COMPLETED
    with rpc_error() as failure:
        await move(M.CARD_STATE_ACTIVE)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CARD_STATE_TRANSITION_INVALID"


async def test_replace_lost_card_keeps_member_and_type(admin):
    await setup_card_types(admin)
    member = (await admin.members.RegisterMember(register(card_type="gold"))).member
    old_number = member.cards[0].number
    request = M.ReplaceCardRequest(request_id=str(uuid.uuid4()), card_number=old_number,
                                   reason="lost")
    reply = await admin.members.ReplaceCard(request)
    assert reply.old_card.state == M.CARD_STATE_CLOSED
    assert reply.new_card.state == M.CARD_STATE_ACTIVE
    assert reply.new_card.replaces_number == old_number
    assert reply.new_card.card_type == "gold" and reply.new_card.member_id == member.member_id
    assert await admin.members.ReplaceCard(request) == reply  # retry: same new card
    with rpc_error() as failure:  # a closed card cannot be replaced again
        await admin.members.ReplaceCard(M.ReplaceCardRequest(
            request_id=str(uuid.uuid4()), card_number=old_number, reason="lost again"))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    found = await admin.members.FindMember(M.FindMemberRequest(card_number=old_number))
    assert [c.number for c in found.member.cards] == [reply.new_card.number, old_number]


async def test_update_profile_records_source_and_keeps_uniqueness(admin, app):
    await setup_card_types(admin)
    one = (await admin.members.RegisterMember(register())).member
    two = (await admin.members.RegisterMember(register(phone="0501112233"))).member
    reply = await admin.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
        request_id=str(uuid.uuid4()), member_id=one.member_id, source="contact_center",
        profile=M.MemberProfile(address="Kyiv, Khreshchatyk 1", email="o@example.com"),
        update_fields=["address", "email"]))
    assert reply.member.profile.address == "Kyiv, Khreshchatyk 1"
    assert reply.member.profile.phone == "+380671234567"  # untouched field kept

    from sqlalchemy import text
    async with app.db.transaction() as session:
        rows = (await session.execute(text(
            "SELECT field, old_value, new_value, source FROM member_contact_changes "
            "ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [
        ("address", "", "Kyiv, Khreshchatyk 1", "contact_center"),
        ("email", None, "o@example.com", "contact_center"),
    ]

    with rpc_error() as failure:  # the other member's phone is taken
        await admin.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
            request_id=str(uuid.uuid4()), member_id=two.member_id, source="web_cabinet",
            profile=M.MemberProfile(phone="+380671234567"), update_fields=["phone"]))
    assert failure.reason == "MEMBER_ALREADY_EXISTS"
    with rpc_error() as failure:
        await admin.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
            request_id=str(uuid.uuid4()), member_id=two.member_id,
            update_fields=["shoe_size"]))
    assert failure.fields == ["source", "update_fields[0]"]


async def test_purchase_history_pages_newest_first(admin, app):
    await setup_card_types(admin)
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code="kyiv-01", name="Kyiv 1")))
    member = (await admin.members.RegisterMember(register())).member
    from sqlalchemy import text
    async with app.db.transaction() as session:
        for n in range(5):
            await session.execute(text(
                "INSERT INTO receipts (id, store_code, terminal_id, receipt_number, member_id, "
                "state, currency, subtotal_minor, discount_total_minor, total_minor, "
                "confirmed_at) VALUES (:id, 'kyiv-01', 'till-1', :num, :member, 'confirmed', "
                "'UAH', :sub, 100, :tot, now() - make_interval(days => :age))"),
                {"id": uuid.uuid4(), "num": f"R{n}", "member": uuid.UUID(member.member_id),
                 "sub": 1000 * (n + 1) + 100, "tot": 1000 * (n + 1), "age": n})
    seen: list[str] = []
    token = ""
    while True:
        page = await admin.members.ListPurchases(M.ListPurchasesRequest(
            member_id=member.member_id, page={"page_size": 2, "page_token": token}))
        seen += [p.receipt_number for p in page.purchases]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == ["R0", "R1", "R2", "R3", "R4"]
