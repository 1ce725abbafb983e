"""Store scope of keys: a till acts for its store and terminal, a network key for its network's
stores, an operator key for all; another store's receipts look unknown and stay untouched.

Demo data: kyiv-01 and kyiv-02 are in network "kyiv", lviv-01 in network "lviv".
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2, receipts_pb2
from sqlalchemy import text

from server.auth.principal import PrincipalKind
from server.demo import load_demo_data
from tests.cli import kopilka
from tests.helpers import rid, rpc_error

R = receipts_pb2


@pytest.fixture
async def demo(app, admin) -> str:
    """Demo stores, networks and members; returns the silver member's card number."""
    await load_demo_data(app.db.url)
    await app.deps.pricing.refresh()
    member = (await admin.members.FindMember(
        members_pb2.FindMemberRequest(phone="0501112233"))).member
    card = member.cards[0].number
    await admin.bonus.TopUpCashAccount(bonus_pb2.TopUpCashAccountRequest(
        request_id=str(uuid.uuid4()), card_number=card, amount_minor=100_000, reason="test",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_DEPOSIT))
    return card


async def till(make_key, client_for, store: str, terminal: str):  # type: ignore[no-untyped-def]
    return client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL, store_code=store,
                                     terminal_id=terminal))


async def sell(client, card: str, store: str = "", terminal: str = "") -> str:  # type: ignore[no-untyped-def]
    """One receipt paid from the member's cash account; returns its id."""
    calc = await client.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code=store, terminal_id=terminal, card_number=card,
        lines=[R.ReceiptLine(line_no=1, sku="bakery-01", quantity_milli=2000,
                             unit_price_minor=1500)]))
    done = await client.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id,
        receipt_number=f"R-{uuid.uuid4().hex[:8]}",
        payments=[R.Payment(method=R.PAYMENT_METHOD_CASH_ACCOUNT,
                            amount_minor=calc.total.amount_minor)]))
    return done.receipt_id


def refund(receipt_id: str) -> R.RefundReceiptRequest:
    return R.RefundReceiptRequest(request_id=str(uuid.uuid4()), receipt_id=receipt_id)


def cancel(receipt_id: str) -> R.CancelReceiptRequest:
    return R.CancelReceiptRequest(request_id=str(uuid.uuid4()), receipt_id=receipt_id,
                                  reason="customer changed their mind")


async def wallet(admin, card: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    got = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=card))
    return got.points_available + got.points_pending, got.cash_balance_minor


async def receipt_row(app, receipt_id: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        row = (await session.execute(text(
            "SELECT state, terminal_id FROM receipts WHERE id = :id"),
            {"id": uuid.UUID(receipt_id)})).one()
    return row.state, row.terminal_id


async def refused_as_unknown(call, receipt_id: str) -> str:  # type: ignore[no-untyped-def]
    """The call fails exactly like one for a receipt that does not exist; its message."""
    with rpc_error() as failure:
        await call
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "RECEIPT_NOT_FOUND")
    return failure.message.replace(receipt_id, "<id>")


async def test_a_till_cannot_refund_or_cancel_another_stores_receipt(
        app, admin, demo, make_key, client_for):
    card = demo
    kyiv = await till(make_key, client_for, "kyiv-01", "till-1")
    lviv = await till(make_key, client_for, "lviv-01", "till-1")
    sold = await sell(kyiv, card)
    before = await wallet(admin, card)

    unknown = str(uuid.uuid4())
    expected = await refused_as_unknown(lviv.receipts.RefundReceipt(refund(unknown)), unknown)
    assert await refused_as_unknown(lviv.receipts.RefundReceipt(refund(sold)), sold) == expected
    assert await refused_as_unknown(lviv.receipts.CancelReceipt(cancel(sold)), sold) == \
        await refused_as_unknown(lviv.receipts.CancelReceipt(cancel(unknown)), unknown)
    partial = refund(sold)
    partial.lines.add(line_no=1, quantity_milli=1000)
    await refused_as_unknown(lviv.receipts.RefundReceipt(partial), sold)

    assert await wallet(admin, card) == before  # neither points nor the cash account moved
    assert (await receipt_row(app, sold))[0] == "confirmed"
    cancelled = await kyiv.receipts.CancelReceipt(cancel(sold))  # its own till still may
    assert cancelled.state == R.RECEIPT_STATE_CANCELLED
    assert (await wallet(admin, card))[1] == 100_000


async def test_a_network_key_acts_on_its_networks_stores_and_an_operator_on_all(
        app, admin, demo, make_key, client_for):
    card = demo
    region = client_for(await make_key("cashier", network_code="kyiv"))
    operator = client_for(await make_key("operator"))
    in_kyiv_1 = await sell(region, card, store="kyiv-01")
    in_kyiv_2 = await sell(region, card, store="kyiv-02")
    in_lviv = await sell(operator, card, store="lviv-01")

    with rpc_error() as failure:  # selling for a store outside the network
        await sell(region, card, store="lviv-01")
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["store_code"])
    with rpc_error() as failure:  # a network key names the store it acts for
        await sell(region, card)
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["store_code"])

    before = await wallet(admin, card)
    await refused_as_unknown(region.receipts.RefundReceipt(refund(in_lviv)), in_lviv)
    await refused_as_unknown(region.receipts.CancelReceipt(cancel(in_lviv)), in_lviv)
    assert await wallet(admin, card) == before
    assert (await receipt_row(app, in_lviv))[0] == "confirmed"

    assert (await region.receipts.RefundReceipt(refund(in_kyiv_1))).state == \
        R.RECEIPT_STATE_REFUNDED
    assert (await region.receipts.CancelReceipt(cancel(in_kyiv_2))).state == \
        R.RECEIPT_STATE_CANCELLED
    assert (await operator.receipts.RefundReceipt(refund(in_lviv))).state == \
        R.RECEIPT_STATE_REFUNDED
    assert (await wallet(admin, card))[1] == 100_000  # every sale's cash came back


async def test_a_network_key_cannot_book_another_networks_calculation(
        admin, demo, make_key, client_for):
    region = client_for(await make_key("cashier", network_code="kyiv"))
    calc = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="lviv-01", lines=[R.ReceiptLine(line_no=1, sku="bakery-01",
                                                   quantity_milli=1000, unit_price_minor=1000)]))
    with rpc_error() as failure:
        await region.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
            request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id,
            receipt_number="R-1", payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                                                      amount_minor=calc.total.amount_minor)]))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT,
                                              ["calculation_id"])


async def test_a_terminal_key_acts_only_as_its_terminal(app, admin, demo, make_key, client_for):
    card = demo
    one = await till(make_key, client_for, "kyiv-01", "till-1")
    two = await till(make_key, client_for, "kyiv-01", "till-2")

    with rpc_error() as failure:
        await one.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            terminal_id="till-2", lines=[R.ReceiptLine(line_no=1, sku="bakery-01",
                                                       quantity_milli=1000,
                                                       unit_price_minor=1000)]))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["terminal_id"])
    assert "till-1" in failure.message

    sold = await sell(one, card)  # no terminal_id given: the key's own
    assert await receipt_row(app, sold) == ("confirmed", "till-1")
    sold = await sell(one, card, terminal="till-1")
    assert await receipt_row(app, sold) == ("confirmed", "till-1")

    # till 2's calculation cannot be booked by till 1 under till 2's receipt numbers
    calc = await two.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        lines=[R.ReceiptLine(line_no=1, sku="bakery-01", quantity_milli=1000,
                             unit_price_minor=1000)]))
    with rpc_error() as failure:
        await one.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
            request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id,
            receipt_number="R-1", payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                                                      amount_minor=calc.total.amount_minor)]))
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT,
                                              ["calculation_id"])


async def test_create_api_key_with_a_network(admin, demo, client_for):
    made = await admin.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(request_id=rid(),
        name="Kyiv region", kind=admin_pb2.PRINCIPAL_KIND_OPERATOR, roles=["cashier"],
        network_code="kyiv"))
    region = client_for(made.secret)
    await sell(region, demo, store="kyiv-02")
    with rpc_error() as failure:
        await sell(region, demo, store="lviv-01")
    assert failure.fields == ["store_code"]

    for request, field in (
        (admin_pb2.CreateApiKeyRequest(
            request_id=rid(), name="x", kind=admin_pb2.PRINCIPAL_KIND_OPERATOR,
                                       roles=["cashier"], network_code="nowhere"),
         "network_code"),
        (admin_pb2.CreateApiKeyRequest(
            request_id=rid(), name="x", kind=admin_pb2.PRINCIPAL_KIND_STORE_BACKEND,
                                       roles=["cashier"], store_code="kyiv-01",
                                       network_code="kyiv"), "network_code"),
    ):
        with rpc_error() as failure:
            await admin.admin.CreateApiKey(request)
        assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, [field])


async def test_cli_creates_a_network_key(database_url, demo, client_for):
    async def create_key(*args: str) -> tuple[int, str, str]:
        return await kopilka(database_url, "apikey", "create", "--name", "Kyiv region",
                             "--kind", "operator", "--role", "cashier", *args)

    code, secret, err = await create_key("--network", "kyiv")
    assert code == 0, err
    region = client_for(secret.strip())
    await sell(region, demo, store="kyiv-01")
    with rpc_error() as failure:
        await sell(region, demo, store="lviv-01")
    assert failure.fields == ["store_code"]
    code, _, err = await create_key("--network", "nowhere")
    assert code == 2 and "unknown store network 'nowhere'" in err
    code, _, err = await create_key("--network", "kyiv", "--store", "kyiv-01")
    assert code == 2 and "network" in err
