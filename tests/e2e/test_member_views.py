"""What a till key may see and how often it may look: member views, store-scoped purchase
history and rate limits, through the generated client on a real server (issue 10 item 6)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from kopilka.v1 import admin_pb2, bonus_pb2, certificates_pb2, common_pb2, members_pb2, receipts_pb2

from server.auth.principal import PrincipalKind
from server.demo import load_demo_data
from tests.helpers import rid, rpc_error

M = members_pb2
R = receipts_pb2

FULL_PROFILE = M.MemberProfile(
    first_name="Petro", last_name="Hnatyuk", middle_name="Ivanovych", gender=M.GENDER_MALE,
    birth_date="1985-03-09", marital_status=M.MARITAL_STATUS_MARRIED,
    address="Kyiv, Volodymyrska 12", phone="+380931234567", email="petro@example.com",
    social_ids={"instagram": "petro85"})
SALE_PROFILE = M.MemberProfile(first_name="Petro", phone="+38093***4567")


class FakeClock:
    """The rate limits' clock: tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(settings, overrides):  # type: ignore[no-untyped-def]
    return settings.model_copy(update=overrides)


@pytest.fixture
async def app(settings, database_url, clock):  # type: ignore[no-untyped-def]
    from server.app import build_app

    application = build_app(settings, database_url, clock=clock)
    await application.start()
    try:
        yield application
    finally:
        await application.stop(grace=0.5)


@pytest.fixture
async def demo(app) -> None:  # type: ignore[no-untyped-def]
    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh()


def register(profile: M.MemberProfile = FULL_PROFILE) -> M.RegisterMemberRequest:
    return M.RegisterMemberRequest(request_id=str(uuid.uuid4()), profile=profile,
                                   channel=M.REGISTRATION_CHANNEL_POS, issue_card_type="silver")


async def till(make_key, client_for, store: str = "kyiv-01"):  # type: ignore[no-untyped-def]
    return client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL, store_code=store,
                                     terminal_id="till-1"))


async def test_a_till_sees_what_a_sale_needs_and_an_operator_sees_all(
        demo, admin, make_key, client_for):
    member = (await admin.members.RegisterMember(register())).member
    assert member.profile == FULL_PROFILE  # an admin's answer is the whole profile
    card = member.cards[0].number
    cashier = await till(make_key, client_for)
    web = client_for(await make_key("store_backend", kind=PrincipalKind.STORE_BACKEND,
                                    store_code="web"))
    operator = client_for(await make_key("operator"))

    for client in (cashier, web):
        found = (await client.members.FindMember(M.FindMemberRequest(phone="093 123 45 67"))
                 ).member
        assert found.profile == SALE_PROFILE
        assert found.member_id == member.member_id
        assert [(c.number, c.state) for c in found.cards] == [(card, M.CARD_STATE_ACTIVE)]
        got = (await client.members.GetMember(M.GetMemberRequest(
            member_id=member.member_id))).member
        assert got.profile == SALE_PROFILE and got.cards == found.cards
        balance = await client.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))
        assert balance.points_available == 0  # balances stay a till's to see

    found = (await operator.members.FindMember(M.FindMemberRequest(card_number=card))).member
    assert found.profile == FULL_PROFILE
    updated = (await operator.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
        request_id=str(uuid.uuid4()), member_id=member.member_id,
        profile=M.MemberProfile(address="Lviv, Rynok 1"), update_fields=["address"],
        source="call center"))).member
    assert updated.profile.address == "Lviv, Rynok 1" and updated.profile.email

    # A till registering a customer at the counter gets the sale view back, not an echo.
    other = M.MemberProfile(first_name="Oksana", last_name="Melnyk", phone="+380661112233",
                            email="oksana@example.com", birth_date="1999-12-31")
    registered = (await cashier.members.RegisterMember(register(other))).member
    assert registered.profile == M.MemberProfile(first_name="Oksana", phone="+38066***2233")
    assert len(registered.cards) == 1
    stored = (await admin.members.GetMember(M.GetMemberRequest(
        member_id=registered.member_id))).member
    assert stored.profile.last_name == "Melnyk"  # hidden from the till, not lost


def sale(store: str, card: str) -> R.CalculateReceiptRequest:
    return R.CalculateReceiptRequest(store_code=store, card_number=card, lines=[
        R.ReceiptLine(line_no=1, sku="bakery-01", quantity_milli=1000, unit_price_minor=1000)])


async def buy(client, store: str, card: str, number: str) -> None:  # type: ignore[no-untyped-def]
    calc = await client.receipts.CalculateReceipt(sale(store, card))
    await client.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id, receipt_number=number,
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH, amount_minor=calc.total.amount_minor)]))


async def test_a_store_bound_key_sees_only_its_own_stores_receipts(
        demo, admin, make_key, client_for):
    member = (await admin.members.RegisterMember(register())).member
    card = member.cards[0].number
    kyiv, lviv = await till(make_key, client_for), await till(make_key, client_for, "lviv-01")
    await buy(kyiv, "kyiv-01", card, "K-1")
    await buy(lviv, "lviv-01", card, "L-1")
    await buy(kyiv, "kyiv-01", card, "K-2")

    async def history(client) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
        numbers, token = [], ""
        while True:  # one receipt a page: the store filter must hold across pages too
            page = await client.members.ListPurchases(M.ListPurchasesRequest(
                member_id=member.member_id,
                page=common_pb2.PageRequest(page_size=1, page_token=token)))
            numbers += [(p.store_code, p.receipt_number) for p in page.purchases]
            token = page.page.next_page_token
            if not token:
                return numbers

    assert await history(kyiv) == [("kyiv-01", "K-2"), ("kyiv-01", "K-1")]
    assert await history(lviv) == [("lviv-01", "L-1")]
    assert await history(admin) == [("kyiv-01", "K-2"), ("lviv-01", "L-1"), ("kyiv-01", "K-1")]


@pytest.mark.parametrize("overrides", [{"lookup_rate_per_minute": 3}])
async def test_lookups_beyond_the_keys_rate_are_refused_with_retry_info(
        demo, admin, make_key, client_for, clock):
    member = (await admin.members.RegisterMember(register())).member
    card = member.cards[0].number
    cashier, neighbour = await till(make_key, client_for), await till(make_key, client_for)
    await cashier.members.FindMember(M.FindMemberRequest(card_number=card))
    await cashier.members.GetMember(M.GetMemberRequest(member_id=member.member_id))
    await cashier.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))
    with rpc_error() as failure:
        await cashier.members.ListPurchases(M.ListPurchasesRequest(member_id=member.member_id))
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure.reason == "LOOKUP_RATE_LIMITED"
    assert failure.retry_delay == 20  # 3 a minute: the next token in 20 s
    with rpc_error() as failure:
        await cashier.certificates.GetCertificate(
            certificates_pb2.GetCertificateRequest(number="1"))
    assert failure.reason == "LOOKUP_RATE_LIMITED"

    await buy(cashier, "kyiv-01", card, "K-1")  # selling is never limited
    await neighbour.members.FindMember(M.FindMemberRequest(card_number=card))  # per key

    clock.now += 19
    with rpc_error() as failure:
        await cashier.members.FindMember(M.FindMemberRequest(card_number=card))
    assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED and failure.retry_delay == 1
    clock.now += 1
    await cashier.members.FindMember(M.FindMemberRequest(card_number=card))


@pytest.mark.parametrize("overrides", [{"auth_failures_per_minute": 3}])
async def test_repeated_bad_keys_lock_out_the_address_even_for_a_valid_key(
        demo, admin, make_key, client_for, clock):
    cashier = await till(make_key, client_for)
    for _ in range(4):  # a valid key lacking a permission is not an authentication failure
        with rpc_error() as failure:
            await cashier.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid()))
        assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    echo = admin_pb2.EchoRequest(payload=b"hi")
    await cashier.admin.Echo(echo)

    for client in (client_for("kpk_guess1"), client_for("kpk_guess2"), client_for(None)):
        with rpc_error() as failure:
            await client.admin.Echo(echo)
        assert failure.code == grpc.StatusCode.UNAUTHENTICATED
    for client in (cashier, admin, client_for("kpk_guess3")):
        with rpc_error() as failure:
            await client.admin.Echo(echo)
        assert failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert failure.reason == "TOO_MANY_AUTH_FAILURES" and failure.retry_delay == 20

    clock.now += 20
    await cashier.admin.Echo(echo)  # a token refilled: one more try is allowed
    with rpc_error() as failure:
        await client_for("kpk_guess4").admin.Echo(echo)
    assert failure.code == grpc.StatusCode.UNAUTHENTICATED
    with rpc_error() as failure:
        await admin.admin.Echo(echo)
    assert failure.reason == "TOO_MANY_AUTH_FAILURES"
    clock.now += 60
    assert (await admin.admin.Echo(echo)).payload == b"hi"
