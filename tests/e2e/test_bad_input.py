"""Bad input is INVALID_ARGUMENT naming the field, never INTERNAL or UNKNOWN (issue 11).

One test per class the fuzz found; tests/e2e/test_bad_input_properties.py then looks for
the classes nobody has found yet.
"""

from __future__ import annotations

import base64
import uuid

import grpc
import pytest
from kopilka.v1 import admin_pb2, bonus_pb2, common_pb2, members_pb2, receipts_pb2

from server.auth.principal import PrincipalKind
from tests.helpers import rid, rpc_error

INVALID = grpc.StatusCode.INVALID_ARGUMENT
R = receipts_pb2


@pytest.fixture
async def world(app, admin) -> str:  # type: ignore[no-untyped-def]
    """Store kyiv-01, card type gold, product sku-1; the number of a registered card."""
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(
        request_id=rid(), store=admin_pb2.Store(
        code="kyiv-01", name="Kyiv 1")))
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
        card_type=admin_pb2.CardType(code="gold", name="Gold", accrual_bps=500,
                                     number_prefix="2910")))
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku="sku-1", name="Milk")]))
    member = (await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()), profile=members_pb2.MemberProfile(first_name="Olena",
                                                                       phone="0671234567"),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="gold"))).member
    await app.deps.pricing.refresh()
    return str(member.cards[0].number)


def _line(n: int, quantity: int = 1000, price: int = 100) -> R.ReceiptLine:
    return R.ReceiptLine(line_no=n, sku="sku-1", quantity_milli=quantity, unit_price_minor=price)


async def test_a_terminal_id_longer_than_its_column_is_refused_at_calculate(admin, world):
    with rpc_error() as failure:
        await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", terminal_id="t" * 65, lines=[_line(1)]))
    assert failure.code == INVALID and failure.fields == ["terminal_id"]
    fits = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
        store_code="kyiv-01", terminal_id="t" * 64, lines=[_line(1)]))
    assert fits.total.amount_minor == 100


async def test_a_nul_byte_is_refused_and_nothing_is_written(admin, world):
    with rpc_error() as failure:
        await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
            request_id=str(uuid.uuid4()),
            profile=members_pb2.MemberProfile(first_name="Ole\x00na", phone="0671234500"),
            channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR))
    assert failure.code == INVALID and failure.fields == ["profile.first_name"]
    with rpc_error() as missing:
        await admin.members.FindMember(members_pb2.FindMemberRequest(phone="0671234500"))
    assert missing.code == grpc.StatusCode.NOT_FOUND


async def test_a_thousand_bad_lines_get_their_reasons_within_the_metadata_limit(admin, world):
    with rpc_error() as failure:
        await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", lines=[_line(0, quantity=-1)] * 1000))
    assert failure.code == INVALID and failure.reason == "INVALID_ARGUMENT"
    assert len(failure.fields) == 20 and failure.fields[0] == "lines[0].line_no"
    assert int(failure.metadata["violation_count"]) == 2000  # line_no and quantity, each line
    assert "more" in failure.message and len(failure.message) <= 300


async def test_amounts_that_would_overflow_int64_are_refused(admin, world):
    price = 9 * 10**14  # within the per-field limit; times the quantity it is not
    with rpc_error() as failure:
        await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", lines=[_line(1, quantity=10**6, price=price)]))
    assert failure.code == INVALID and failure.fields == ["lines[0].unit_price_minor"]
    with rpc_error() as failure:  # each line fits, the receipt does not
        await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", lines=[_line(n, price=price) for n in range(1, 3)]))
    assert failure.code == INVALID and failure.fields == ["lines"]
    for points in (2**63 - 1, -2**63):
        with rpc_error() as failure:
            await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
                request_id=str(uuid.uuid4()), card_number=world, points=points, reason="x"))
        assert failure.code == INVALID and failure.fields == ["points"]


@pytest.mark.parametrize("when", [
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-01-01T00:00:00"])
async def test_forged_page_tokens_with_extreme_times_are_invalid(admin, world, when):
    member = (await admin.members.FindMember(
        members_pb2.FindMemberRequest(card_number=world))).member
    token = base64.urlsafe_b64encode(f"{when}|{uuid.uuid4()}".encode()).decode()
    with rpc_error() as failure:
        await admin.members.ListPurchases(members_pb2.ListPurchasesRequest(
            member_id=member.member_id, page=common_pb2.PageRequest(page_token=token)))
    assert failure.code == INVALID and failure.fields == ["page.page_token"]


async def test_the_same_sku_or_barcode_twice_in_one_upsert_is_invalid(admin, world):
    P = admin_pb2.Product
    with rpc_error() as failure:
        await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(
            request_id=rid(), products=[
            P(sku="dup", name="A"), P(sku="dup", name="B")]))
    assert failure.code == INVALID and failure.fields == ["products[1].sku"]
    with rpc_error() as failure:
        await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(
            request_id=rid(), products=[
            P(sku="one", barcodes=["4820000000011", "4820000000011"])]))
    assert failure.code == INVALID and failure.fields == ["products[0].barcodes[1]"]


@pytest.mark.parametrize(("document", "fmt"), [
    ("[" * 5000, admin_pb2.RULE_SET_FORMAT_JSON),
    ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 600)), admin_pb2.RULE_SET_FORMAT_YAML),
    ("- " * 3000 + "x", admin_pb2.RULE_SET_FORMAT_YAML),
    ("name: x\nrules:\n  - id: 2024-13-01\n", admin_pb2.RULE_SET_FORMAT_YAML),
    ("a: &a [1]\nb: [*a, *a]\n", admin_pb2.RULE_SET_FORMAT_YAML),
])
async def test_deep_invalid_date_or_aliased_rule_documents_are_invalid(admin, document, fmt):
    with rpc_error() as failure:
        await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
            request_id=rid(), document=document,
                                                                     format=fmt))
    assert failure.code == INVALID and failure.reason == "INVALID_RULE_SET"


@pytest.mark.parametrize("master", ["²", "٣", "9" * 19, "0"])
async def test_a_master_account_id_that_is_no_account_id_is_invalid(admin, world, master):
    with rpc_error() as failure:
        await admin.bonus.PoolCashAccounts(bonus_pb2.PoolCashAccountsRequest(
            request_id=str(uuid.uuid4()), master_account_id=master, card_numbers=[world]))
    assert failure.code == INVALID and failure.fields == ["master_account_id"]


@pytest.mark.parametrize("raw", [
    b"\x0a\x02\xc3\x28",  # field 1 (store_code) holding bytes that are not UTF-8
    b"\x0a\x05ab",  # five bytes announced, two sent
    b"\xff\xff\xff\xff",
])
async def test_bytes_that_are_no_request_are_invalid_not_unknown(admin, world, raw):
    call = admin.channel.unary_unary("/kopilka.v1.ReceiptService/CalculateReceipt",
                                     request_serializer=None, response_deserializer=None)
    with rpc_error() as failure:
        await call(raw)
    assert failure.code == INVALID and failure.reason == "MALFORMED_REQUEST"


async def test_limits_apply_to_every_caller_and_rpc_the_same_way(make_key, client_for, world):
    till = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                     store_code="kyiv-01", terminal_id="till-1"))
    with rpc_error() as failure:
        await till.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number="2" * 14))
    assert failure.code == INVALID and failure.fields == ["card_number"]


async def test_a_card_type_prefix_taken_by_another_series_is_already_exists(admin, world):
    for prefix, owner in (("2910", "card type gold"), ("29", "card type gold")):
        with rpc_error() as failure:
            await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
                card_type=admin_pb2.CardType(code="silver", name="Silver",
                                             number_prefix=prefix)))
        assert failure.code == grpc.StatusCode.ALREADY_EXISTS
        assert failure.reason == "NUMBER_PREFIX_TAKEN" and failure.metadata["owner"] == owner
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(
        request_id=rid(),   # its own: fine
        card_type=admin_pb2.CardType(code="gold", name="Gold+", number_prefix="2910")))
