"""An exchange's difference settled by a gift certificate, end to end over gRPC: the
certificate's own spend (one conditional UPDATE and its entry) in the exchange's
transaction, with an audit row; once per request_id; refusals name certificate_number and
change nothing; a cheaper exchange gives back at most what the certificate paid."""

from __future__ import annotations

from typing import Any

import grpc
from kopilka.v1 import certificates_pb2 as C
from sqlalchemy import text

from tests.e2e.certificates_helpers import issue, money_type, upsert_type
from tests.e2e.ledger_support import assert_books_balance
from tests.e2e.orders_support import WEB, O, balance, lines, member_with_points, place, rid
from tests.e2e.orders_support import setup_shop as setup_orders
from tests.helpers import rpc_error


async def shop(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_orders(app, admin)
    await upsert_type(admin, money_type())
    return client_for(await make_key("store_backend", store_code=WEB))


async def completed(web, card: str):  # type: ignore[no-untyped-def]
    """A completed order of 2 x sku-01 at 25.00 (50.00), version 3."""
    order = (await web.orders.PlaceOrder(place(O.Customer(card_number=card),
                                               lines(("sku-01", 2000, 2500))))).order
    await web.orders.ConfirmOrder(O.ConfirmOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=1))
    return (await web.orders.CompleteOrder(O.CompleteOrderRequest(
        request_id=rid(), order_id=order.order_id, expected_version=2))).order


def swap(order_id: str, version: int, number: str, price: int, returned: int = 1,
         request_id: str | None = None) -> O.ExchangeLinesRequest:
    """Line `returned` (one unit) back, one sku-03 at `price` instead, by certificate."""
    return O.ExchangeLinesRequest(
        request_id=request_id or rid(), order_id=order_id, expected_version=version,
        reason="wrong size", returns=[O.ReturnedLine(line_no=returned, quantity_milli=1000)],
        new_lines=[O.NewOrderLine(sku="sku-03", quantity_milli=1000, unit_price_minor=price)],
        settlement=O.SETTLEMENT_CERTIFICATE, certificate_number=number)


async def cert_balance(admin, number: str) -> int:  # type: ignore[no-untyped-def]
    got = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=number))
    return int(got.certificate.balance.amount_minor)


async def rows(app, sql: str, **params: Any) -> list[Any]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return list((await session.execute(text(sql), params)).all())


async def test_a_certificate_pays_the_difference_once(app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    _, card = await member_with_points(admin, "+380672230001", 0)
    [cert] = await issue(admin, denomination=50000)
    order = await completed(web, card)
    request = swap(order.order_id, 3, cert.number, 4000)
    done = await web.orders.ExchangeLines(request)
    assert done.refund.amount_minor == 2500 and done.new_total.amount_minor == 4000
    assert done.difference.amount_minor == 1500
    assert await cert_balance(admin, cert.number) == 50000 - 1500
    history = done.order.history[-1].detail_json
    assert '"settlement": "certificate"' in history and cert.number not in history
    assert f'"certificate_number": "*********{cert.number[-4:]}"' in history  # last 4 only

    # the certificate's ledger entry, keyed by the order, and the audit rows
    entries = await rows(app, "SELECT e.kind, e.amount_minor, e.store_code FROM "
                         "certificate_entries e JOIN certificates c ON c.id = e.certificate_id "
                         "WHERE c.number = :n AND e.receipt_id = CAST(:o AS uuid)",
                         n=cert.number, o=order.order_id)
    assert [tuple(r) for r in entries] == [("redeem", -1500, WEB)]
    audited = await rows(app, "SELECT object_id, before, after FROM audit_log WHERE "
                         "object_type = 'certificate' AND action = 'exchange_settle'")
    assert [(r.object_id, r.before["balance_minor"], r.after["balance_minor"],
             r.after["amount_minor"]) for r in audited] == [(cert.number, 50000, 48500, -1500)]
    assert len(await rows(app, "SELECT 1 FROM audit_log WHERE object_type = 'web_order' AND "
                          "action = 'ExchangeLines'")) == 1

    # the same request again: the same answer, nothing moves a second time
    again = await web.orders.ExchangeLines(request)
    assert again == done
    assert await cert_balance(admin, cert.number) == 50000 - 1500
    assert len(await rows(app, "SELECT 1 FROM certificate_entries WHERE "
                          "receipt_id = CAST(:o AS uuid)", o=order.order_id)) == 1
    got = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert got.version == 4 and len(got.lines) == 2
    await assert_books_balance(app)

    # cheaper: the difference goes back to the certificate, at most what it paid here
    too_much = swap(order.order_id, 4, cert.number, 1000, returned=2)
    too_much.new_lines[0].unit_price_minor = 0  # 40.00 back, the certificate paid 15.00
    with rpc_error() as failure:
        await web.orders.ExchangeLines(too_much)
    assert failure.reason == "CERTIFICATE_REFUND_EXCEEDS_PAYMENT"
    assert failure.fields == ["certificate_number"]
    assert failure.metadata["refundable_minor"] == "1500"
    back = await web.orders.ExchangeLines(swap(order.order_id, 4, cert.number, 3000,
                                               returned=2))
    assert back.difference.amount_minor == 3000 - 4000
    assert await cert_balance(admin, cert.number) == 50000 - 1500 + 1000
    await assert_books_balance(app)


async def test_a_certificate_that_cannot_pay_is_refused_naming_it(
        app, admin, make_key, client_for):
    web = await shop(app, admin, make_key, client_for)
    await upsert_type(admin, money_type("usd", "2200", currency="USD",
                                        denominations_minor=[10000]))
    _, card = await member_with_points(admin, "+380672230002", 0)
    [blocked] = await issue(admin, denomination=50000)
    [dollars] = await issue(admin, "usd", denomination=10000)
    await admin.certificates.BlockCertificate(C.BlockCertificateRequest(
        request_id=rid(), number=blocked.number, reason="lost"))
    order = await completed(web, card)
    cases = [(blocked.number, grpc.StatusCode.FAILED_PRECONDITION, "CERTIFICATE_BLOCKED"),
             (dollars.number, grpc.StatusCode.FAILED_PRECONDITION,
              "CERTIFICATE_CURRENCY_MISMATCH"),
             ("2100999999999", grpc.StatusCode.NOT_FOUND, "CERTIFICATE_NOT_FOUND")]
    for number, code, reason in cases:
        with rpc_error() as failure:
            await web.orders.ExchangeLines(swap(order.order_id, 3, number, 4000))
        assert (failure.code, failure.reason, failure.fields) == (
            code, reason, ["certificate_number"]), failure.message
    with rpc_error() as failure:  # required for a certificate, refused for any other
        await web.orders.ExchangeLines(swap(order.order_id, 3, "", 4000))
    assert failure.fields == ["certificate_number"]
    other = swap(order.order_id, 3, blocked.number, 4000)
    other.settlement = O.SETTLEMENT_POINTS
    with rpc_error() as failure:
        await web.orders.ExchangeLines(other)
    assert failure.fields == ["certificate_number"]

    # nothing changed: the order, the certificates, the member's points, the audit
    got = (await web.orders.GetOrder(O.GetOrderRequest(order_id=order.order_id))).order
    assert got.version == 3 and len(got.lines) == 1
    assert await cert_balance(admin, blocked.number) == 50000
    assert await cert_balance(admin, dollars.number) == 10000
    assert await balance(admin, card) == order.points_accrued
    assert await rows(app, "SELECT 1 FROM audit_log WHERE action = 'ExchangeLines' OR "
                      "action = 'exchange_settle'") == []
    await assert_books_balance(app)
