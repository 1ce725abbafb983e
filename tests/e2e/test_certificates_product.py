"""Certificates "as a product" and the never-twice guarantee under concurrency."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from kopilka.v1 import admin_pb2
from kopilka.v1 import certificates_pb2 as C

from tests.e2e.certificates_helpers import (
    assert_ledger_matches,
    entry_kinds,
    history,
    issue,
    money_type,
    redeem,
    rid,
    sale,
    setup_stores,
    upsert_type,
)
from tests.helpers import rpc_error


async def test_fifty_concurrent_redemptions_spend_exactly_the_balance(admin, make_key,
                                                                      client_for):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin, denomination=100000)  # 1,000.00
    tills = [client_for(await make_key("cashier")) for _ in range(4)]

    async def attempt(i: int) -> str:
        try:
            await redeem(tills[i % len(tills)], cert.number, 10000)  # 100.00 each
            return "ok"
        except grpc.aio.AioRpcError as error:
            return error.code().name

    outcomes = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert outcomes.count("ok") == 10
    assert outcomes.count("FAILED_PRECONDITION") == 40
    reply = await history(admin, cert.number)
    assert reply.certificate.balance.amount_minor == 0
    assert reply.certificate.state == C.CERTIFICATE_STATE_REDEEMED
    assert entry_kinds(reply) == [("issue", 100000)] + [("redeem", -10000)] * 10
    assert_ledger_matches(reply)

    # amounts that do not divide the balance: the balance check, not the state, stops them
    [other] = await issue(admin, denomination=100000)
    outcomes = await asyncio.gather(*(attempt_amount(tills, other.number, 30000, i)
                                      for i in range(20)))
    assert sorted(outcomes) == ["INSUFFICIENT_BALANCE"] * 17 + ["ok"] * 3
    reply = await history(admin, other.number)
    assert reply.certificate.balance.amount_minor == 10000
    assert reply.certificate.state == C.CERTIFICATE_STATE_ACTIVE
    assert_ledger_matches(reply)


async def attempt_amount(tills, number: str, amount: int, i: int) -> str:
    """"ok", or the ErrorInfo reason of the refusal."""
    with contextlib.suppress(AssertionError), rpc_error() as failure:  # AssertionError: it worked
        await redeem(tills[i % len(tills)], number, amount)
    return failure.reason or "ok"


async def setup_product_type(admin) -> None:
    await setup_stores(admin)
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku="SPA-1", name="Spa day", group_code="services"),
        admin_pb2.Product(sku="MUG-1", name="Mug", group_code="kitchen"),
        admin_pb2.Product(sku="MASSAGE", name="Massage", group_code="services"),
    ]))
    await upsert_type(admin, C.CertificateType(
        code="spa", name="Spa day", kind=C.CERTIFICATE_KIND_PRODUCT, currency="UAH",
        denominations_minor=[250000], number_prefix="2300", valid_days=90,
        product_groups=["services"], product_skus=["BOOK-1"]))


async def test_product_certificate_is_sold_as_an_item_and_exchanged_for_goods(admin):
    await setup_product_type(admin)
    [cert] = await issue(admin, "spa", denomination=0)  # its only face value (the price)
    assert cert.kind == C.CERTIFICATE_KIND_PRODUCT and cert.balance.amount_minor == 250000

    with rpc_error() as failure:  # kitchen goods are not what this certificate buys
        await redeem(admin, cert.number, sku="MUG-1")
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CERTIFICATE_PRODUCT_NOT_ALLOWED"
    with rpc_error() as failure:  # and it is not money
        await redeem(admin, cert.number, 1000)
    assert failure.reason == "CERTIFICATE_KIND_MISMATCH"

    receipt = await sale(admin)
    used = await redeem(admin, cert.number, sku="MASSAGE", receipt_id=receipt)  # by group
    assert used.state == C.CERTIFICATE_STATE_REDEEMED and used.balance.amount_minor == 0
    reply = await history(admin, cert.number)
    assert entry_kinds(reply) == [("issue", 250000), ("redeem", -250000)]
    assert (reply.entries[1].sku, reply.entries[1].receipt_id) == ("MASSAGE", receipt)
    with rpc_error() as failure:
        await redeem(admin, cert.number, sku="SPA-1")
    assert failure.reason == "CERTIFICATE_NOT_ACTIVE"

    [by_sku] = await issue(admin, "spa", denomination=0)
    assert (await redeem(admin, by_sku.number, sku="BOOK-1")).state == \
        C.CERTIFICATE_STATE_REDEEMED  # named SKU, not in the catalog groups


async def test_product_certificate_returns_whole_and_is_taken_once(admin):
    await setup_product_type(admin)
    [cert] = await issue(admin, "spa", denomination=0)

    async def attempt() -> bool:
        try:
            await redeem(admin, cert.number, sku="SPA-1")
            return True
        except grpc.aio.AioRpcError:
            return False

    assert sum(await asyncio.gather(*(attempt() for _ in range(10)))) == 1
    receipt = (await history(admin, cert.number)).entries[1].receipt_id
    request = C.RefundToCertificateRequest(request_id=rid(), number=cert.number,
                                           receipt_id=receipt)
    request.amount.amount_minor, request.amount.currency = 100000, "UAH"
    with rpc_error() as failure:  # goods come back whole or not at all
        await admin.certificates.RefundToCertificate(request)
    assert failure.reason == "CERTIFICATE_REFUND_EXCEEDS_PAYMENT"
    request.request_id, request.amount.amount_minor = rid(), 250000
    back = (await admin.certificates.RefundToCertificate(request)).certificate
    assert back.state == C.CERTIFICATE_STATE_ACTIVE and back.balance.amount_minor == 250000
    assert (await redeem(admin, cert.number, sku="SPA-1")).balance.amount_minor == 0
    assert_ledger_matches(await history(admin, cert.number))


async def test_code128_series(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type(code="web", prefix="WEB",
                                        barcode_format=C.BARCODE_FORMAT_CODE128,
                                        denominations_minor=[]))
    certs = await issue(admin, "web", count=2, denomination=12345)  # free face value
    assert [c.number for c in certs] == ["WEB0000000001", "WEB0000000002"]
    assert certs[0].denomination.amount_minor == 12345
    assert (await redeem(admin, "web0000000001", 345)).balance.amount_minor == 12000
