"""PlaceOrder reserving points of a card that requires verification: the till's SMS code
(SendVerificationCode + VerifySMS through a real SMSC), bound to the card, the operation, the
amount and the key, used once; on both the one-call and the general path."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import grpc
import pytest
from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2
from kopilka.v1 import verification_pb2 as V

from server.api.servicers import orders as door
from server.auth.principal import PrincipalKind
from server.db.orders import placement
from tests.e2e.orders_support import WEB, O, balance, lines, place, setup_shop
from tests.e2e.verification_support import code_in, send_by_card, server_settings
from tests.helpers import rid, rpc_error
from tests.smsc import Smsc

PLACE = V.VERIFICATION_OPERATION_PLACE_ORDER
FIELD = ["verification_token"]
ORDER_LINES = lines(("sku-01", 2000, 5000), ("sku-02", 1000, 3000))  # 130.00: 700 points fit


@pytest.fixture
def settings(tmp_path, smsc, overrides):  # type: ignore[no-untyped-def]
    return server_settings(tmp_path, smsc.port, verification_phone_limit=10, **overrides)


@pytest.fixture
async def shop(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    """The web shop with a card type that requires verification; the shop's backend key."""
    await setup_shop(app, admin)
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
        card_type=admin_pb2.CardType(code="gold", name="Gold", accrual_bps=500,
                                     number_prefix="2910", requires_verification=True)))
    return client_for(await make_key("store_backend", kind=PrincipalKind.STORE_BACKEND,
                                     store_code=WEB))


@pytest.fixture(params=["one call", "general"])
def path(request, monkeypatch) -> tuple[str, list[bool]]:  # type: ignore[no-untyped-def]
    """Each test on both paths: its name, and every one-call attempt (True: it wrote)."""
    made: list[bool] = []
    write = placement.write

    async def counted(*args: Any) -> bool:
        made.append(await write(*args))
        return made[-1]

    monkeypatch.setattr(placement, "write", counted)
    if request.param == "general":
        async def general(*_: Any) -> None:
            return None

        monkeypatch.setattr(door.OrderServicer, "_place_at_once", general)
    return request.param, made


async def gold_member(admin, phone: str, points: int = 1000) -> str:  # type: ignore[no-untyped-def]
    reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()),
        profile=members_pb2.MemberProfile(first_name="Olena", phone=phone),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="gold"))
    card = str(reply.member.cards[0].number)
    await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
        request_id=str(uuid.uuid4()), card_number=card, points=points, reason="test",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_CORRECTION))
    return card


async def token_for(client, smsc: Smsc, card: str, *, operation: int = PLACE,  # type: ignore[no-untyped-def]
                    max_amount: int = 700) -> str:
    """The customer's code, sent by SMS to the real SMSC, verified by `client`."""
    before = len(smsc.submitted)
    sent = await client.verification.SendVerificationCode(
        send_by_card(card, operation=operation, max_amount=max_amount))
    await smsc.wait_for(lambda: any("код" in s.text for s in smsc.submitted[before:]))
    (sms,) = [s for s in smsc.submitted[before:] if "код" in s.text]
    verified = await client.verification.VerifySMS(V.VerifySMSRequest(
        verification_id=sent.verification_id, code=code_in(sms.text)))
    assert verified.operation == operation and verified.max_amount == max_amount
    return str(verified.verification_token)


def order(card: str, *, points: int = 700, token: str = "", number: str = "W-1",
          request_id: str | None = None) -> O.PlaceOrderRequest:
    request = place(O.Customer(card_number=card), ORDER_LINES, points=points, number=number,
                    request_id=request_id)
    request.verification_token = token
    return request


async def nothing_placed(shop, admin, card: str, points: int = 1000) -> None:  # type: ignore[no-untyped-def]
    listed = await shop.orders.ListOrders(O.ListOrdersRequest())
    assert [o.external_number for o in listed.orders if o.card_number == card] == []
    assert await balance(admin, card) == points


async def test_points_need_the_customers_code_and_it_pays_once(shop, admin, smsc, path):
    card = await gold_member(admin, "+380671230001")
    with rpc_error() as failure:
        await shop.orders.PlaceOrder(order(card))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert (failure.reason, failure.fields) == ("VERIFICATION_REQUIRED", FIELD)
    await nothing_placed(shop, admin, card)
    # no points, no code: the card's policy is about spending
    free = await shop.orders.PlaceOrder(order(card, points=0, number="W-free"))
    assert free.order.points_reserved == 0

    token = await token_for(shop, smsc, card)
    request = order(card, token=token)
    placed = await shop.orders.PlaceOrder(request)
    assert placed.order.points_reserved == 700
    assert await balance(admin, card) == 300
    assert await shop.orders.PlaceOrder(request) == placed  # a retry: its first answer
    assert await balance(admin, card) == 300
    name, made = path
    # one call: refused (no token) and left to the general path, then the free order and
    # the verified one written by it (it used the token), the retry answered from its claim
    assert made == ([False, True, True, False] if name == "one call" else [])

    with rpc_error() as failure:  # the same token for another order
        await shop.orders.PlaceOrder(order(card, token=token, number="W-2", points=300))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert (failure.reason, failure.fields) == ("VERIFICATION_USED", FIELD)
    assert made[4:] == ([False] if name == "one call" else [])  # the database saw it used
    listed = await shop.orders.ListOrders(O.ListOrdersRequest())
    assert sorted(o.external_number for o in listed.orders) == ["W-1", "W-free"]
    assert await balance(admin, card) == 300


async def test_a_token_pays_only_for_the_spend_it_was_asked_for(shop, admin, smsc, path,
                                                               make_key, client_for):
    card = await gold_member(admin, "+380671230002")
    other_card = await gold_member(admin, "+380671230003")
    other_key = client_for(await make_key("store_backend", kind=PrincipalKind.STORE_BACKEND,
                                          store_code=WEB))
    cases = [
        (await token_for(shop, smsc, card, max_amount=500), "VERIFICATION_AMOUNT_EXCEEDED"),
        (await token_for(shop, smsc, card, operation=V.VERIFICATION_OPERATION_REDEEM_POINTS),
         "VERIFICATION_OPERATION_MISMATCH"),
        (await token_for(shop, smsc, other_card), "VERIFICATION_CARD_MISMATCH"),
        (await token_for(other_key, smsc, card), "VERIFICATION_TERMINAL_MISMATCH"),
        ("not-a-token", "TOKEN_INVALID"),
    ]
    for token, reason in cases:
        with rpc_error() as failure:
            await shop.orders.PlaceOrder(order(card, token=token))
        assert (failure.reason, failure.fields) == (reason, FIELD), reason
        assert failure.code in (grpc.StatusCode.PERMISSION_DENIED,
                                grpc.StatusCode.INVALID_ARGUMENT,
                                grpc.StatusCode.UNAUTHENTICATED), reason
    await nothing_placed(shop, admin, card)
    # a refused spend used nothing: the covering token still pays, for up to its amount
    token = await token_for(shop, smsc, card, max_amount=900)
    placed = await shop.orders.PlaceOrder(order(card, token=token))
    assert placed.order.points_reserved == 700 and await balance(admin, card) == 300


async def test_two_orders_racing_with_one_token_reserve_once(shop, admin, smsc, path):
    card = await gold_member(admin, "+380671230004", points=2000)
    token = await token_for(shop, smsc, card)
    results = await asyncio.gather(
        *(shop.orders.PlaceOrder(order(card, token=token, number=f"W-{i}")) for i in range(2)),
        return_exceptions=True)
    placed = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(placed) == 1 and len(failed) == 1, results
    assert failed[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await balance(admin, card) == 1300


async def test_the_database_refuses_a_placement_that_skips_the_check(shop, admin, database_url,
                                                                   monkeypatch, smsc):
    """Were the server's check skipped, kopilka_place_order still uses the token itself:
    without one it writes nothing (KL006), and the general path refuses the order."""
    card = await gold_member(admin, "+380671230005")
    sent: list[bool] = []
    write = placement.write

    async def unchecked(conn: Any, claim: Any, answer: bytes,
                        document: placement.Document) -> bool:
        try:
            await conn.execute(placement.PLACE, claim.principal_id, claim.request_id,
                               claim.method, claim.digest, answer, *document)
        except asyncpg.PostgresError as error:
            sent.append(error.sqlstate == "KL006")
        return await write(conn, claim, answer, document)

    monkeypatch.setattr(placement, "write", unchecked)
    with rpc_error() as failure:
        await shop.orders.PlaceOrder(order(card))
    assert sent == [True]
    assert (failure.reason, failure.fields) == ("VERIFICATION_REQUIRED", FIELD)
    await nothing_placed(shop, admin, card)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM web_orders") == 0
        assert await conn.fetchval("SELECT count(*) FROM verification_token_uses") == 0
    finally:
        await conn.close()


async def test_an_exchange_paid_from_points_needs_the_customers_code(shop, admin, smsc):
    card = await gold_member(admin, "+380671230006", points=10_000)
    placed = (await shop.orders.PlaceOrder(order(card, points=0, number="W-swap"))).order
    await shop.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=str(uuid.uuid4()), order_id=placed.order_id, expected_version=1))
    done = (await shop.orders.CompleteOrder(O.CompleteOrderRequest(
        request_id=str(uuid.uuid4()), order_id=placed.order_id, expected_version=2))).order
    before = await balance(admin, card)
    swap = O.ExchangeLinesRequest(
        request_id=str(uuid.uuid4()), order_id=placed.order_id, expected_version=3,
        reason="wrong colour", returns=[O.ReturnedLine(line_no=2, quantity_milli=1000)],
        new_lines=[O.NewOrderLine(sku="sku-03", quantity_milli=1000, unit_price_minor=8000)],
        settlement=O.SETTLEMENT_POINTS)
    place_token = await token_for(shop, smsc, card, max_amount=10_000)
    for token, reason in (("", "VERIFICATION_REQUIRED"),
                          (place_token, "VERIFICATION_OPERATION_MISMATCH")):
        swap.verification_token = token
        with rpc_error() as failure:
            await shop.orders.ExchangeLines(swap)
        assert (failure.reason, failure.fields) == (reason, FIELD)
    # refused: no points moved, the order unchanged, no answer stored for the request id
    assert await balance(admin, card) == before
    got = await shop.orders.GetOrder(O.GetOrderRequest(order_id=placed.order_id))
    assert got.order.version == 3
    swap.verification_token = await token_for(
        shop, smsc, card, operation=V.VERIFICATION_OPERATION_EXCHANGE_ORDER, max_amount=10_000)
    exchanged = await shop.orders.ExchangeLines(swap)
    difference = exchanged.difference.amount_minor
    assert difference > 0
    accrued = exchanged.order.points_accrued - done.points_accrued
    assert await balance(admin, card) == (before - difference + accrued
                                          - exchanged.points_reversed)
    # the token paid once: another exchange with it is refused and changes nothing
    again = O.ExchangeLinesRequest(
        request_id=str(uuid.uuid4()), order_id=placed.order_id, expected_version=4,
        reason="and this one", returns=[O.ReturnedLine(line_no=1, quantity_milli=1000)],
        new_lines=[O.NewOrderLine(sku="sku-03", quantity_milli=1000, unit_price_minor=9000)],
        settlement=O.SETTLEMENT_POINTS, verification_token=swap.verification_token)
    paid = await balance(admin, card)
    with rpc_error() as failure:
        await shop.orders.ExchangeLines(again)
    assert (failure.reason, failure.fields) == ("VERIFICATION_USED", FIELD)
    assert await balance(admin, card) == paid
