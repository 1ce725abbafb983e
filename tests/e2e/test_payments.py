"""Legal entities and payment methods on an order: entities checked (EDRPOU check digit,
IBAN mod-97), an order split per entity, several methods per share adding up to the kopeck,
ledger methods charged through the one ledger, refunds back to where the money came from."""

from __future__ import annotations

import grpc
import pytest
from kopilka.v1 import bonus_pb2
from sqlalchemy import text

from server.settings import Settings
from tests.e2e.orders_support import WEB, balance, setup_shop
from tests.e2e.payments_support import FOP, SHOP, P, pay, rid, split_order, two_entities
from tests.helpers import rpc_error


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, api_key_cache_seconds=0.0)


async def _count(app, table: str) -> int:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")))


async def test_entities_need_a_valid_edrpou_and_iban(app, admin):
    for field, value in (("edrpou", "14360571"), ("edrpou", "1436057"),
                         ("iban", "UA213223130000026007233566002"),
                         ("iban", "DE89370400440532013000")):
        bad = P.LegalEntity()
        bad.CopyFrom(SHOP)
        setattr(bad, field, value)
        with rpc_error() as failure:
            await admin.payments.UpsertLegalEntity(P.UpsertLegalEntityRequest(
                request_id=rid(), entity=bad))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.fields == [f"entity.{field}"]
    assert await _count(app, "legal_entities") == 0
    spaced = P.LegalEntity()
    spaced.CopyFrom(FOP)
    spaced.iban = "ua35 3052 9900 0002 6000 0527 3333 3"
    for entity in (SHOP, spaced):
        await admin.payments.UpsertLegalEntity(P.UpsertLegalEntityRequest(
            request_id=rid(), entity=entity))
    listed = (await admin.payments.ListLegalEntities(P.ListLegalEntitiesRequest())).entities
    assert [(e.code, e.edrpou, e.iban, e.tax_status) for e in listed] == [
        ("fop", "20077720", FOP.iban, P.TAX_STATUS_SINGLE_TAX),
        ("shop", "14360570", SHOP.iban, P.TAX_STATUS_VAT_PAYER)]
    assert listed[1].name == "ТОВ «Копілка Рітейл»"
    with rpc_error() as failure:  # another entity with the same code
        dup = P.LegalEntity()
        dup.CopyFrom(FOP)
        dup.code = "fop2"
        await admin.payments.UpsertLegalEntity(P.UpsertLegalEntityRequest(
            request_id=rid(), entity=dup))
    assert failure.fields == ["entity.edrpou"]


async def test_an_order_is_split_per_entity_and_paid_by_several_methods(
        app, admin, make_key, client_for):
    await setup_shop(app, admin)
    web = client_for(await make_key("store_backend", store_code=WEB))
    with rpc_error() as failure:  # nothing assigned yet: the order cannot be split
        order, card = await split_order(admin, web, points=10_000)
        await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
            request_id=rid(), order_id=order.order_id,
            payments=[pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 32690)]))
    assert failure.reason == "ENTITY_NOT_ASSIGNED" and failure.metadata["sku"] == "sku-01"
    await two_entities(admin)
    await admin.bonus.TopUpCashAccount(bonus_pb2.TopUpCashAccountRequest(
        request_id=rid(), card_number=card, amount_minor=5_000, reason="test",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_CORRECTION))
    shares = (await web.payments.GetOrderPayments(P.GetOrderPaymentsRequest(
        order_id=order.order_id))).payments
    assert [(s.entity_code, s.amount_minor) for s in shares.shares] == [("fop", 8000),
                                                                        ("shop", 24690)]
    assert shares.payment_state == "unpaid"

    async def refused(payments, fields):  # type: ignore[no-untyped-def]
        with rpc_error() as failure:
            await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
                request_id=rid(), order_id=order.order_id, payments=payments))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, failure.message
        assert failure.fields == fields, failure.message
        return failure

    # one kopeck short for shop
    short = await refused([pay(P.ORDER_PAYMENT_METHOD_POINTS, 4000, "shop"),
                           pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 20689, "shop"),
                           pay(P.ORDER_PAYMENT_METHOD_CASH_ACCOUNT, 5000, "fop"),
                           pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 3000, "fop")],
                          ["payments"])
    assert "payments of shop add up to 24689, its share of the order is 24690" in short.message
    await refused([pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 32690)],
                  ["payments[0].entity_code"])
    await refused([pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 8000, "fop"),
                   pay(P.ORDER_PAYMENT_METHOD_CERTIFICATE, 24690, "shop")],
                  ["payments[1].certificate_number"])
    await refused([pay(P.ORDER_PAYMENT_METHOD_UNSPECIFIED, 8000, "fop"),
                   pay(P.ORDER_PAYMENT_METHOD_POINTS, 0, "nobody")],
                  ["payments[0].method", "payments[1].amount_minor",
                   "payments[1].entity_code"])
    # more points than the member has: the ledger refuses, nothing is charged
    with rpc_error() as failure:
        await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
            request_id=rid(), order_id=order.order_id, payments=[
                pay(P.ORDER_PAYMENT_METHOD_CASH_ACCOUNT, 5000, "fop"),
                pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 3000, "fop"),
                pay(P.ORDER_PAYMENT_METHOD_POINTS, 24690, "shop")]))
    assert failure.reason == "INSUFFICIENT_POINTS"
    assert await balance(admin, card) == 10_000
    assert (await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(
        card_number=card))).cash_balance_minor == 5_000
    assert await _count(app, "order_payments") == 0

    request = P.SetOrderPaymentsRequest(request_id=rid(), order_id=order.order_id, payments=[
        pay(P.ORDER_PAYMENT_METHOD_POINTS, 4000, "shop"),
        pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 20690, "shop"),
        pay(P.ORDER_PAYMENT_METHOD_CASH_ACCOUNT, 5000, "fop"),
        pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 3000, "fop")])
    first = await web.payments.SetOrderPayments(request)
    again = await web.payments.SetOrderPayments(request)  # idempotent on request_id
    assert again == first
    got = {(p.entity_code, p.method): (p.amount_minor, p.state) for p in first.payments.payments}
    assert got == {("shop", P.ORDER_PAYMENT_METHOD_POINTS): (4000, P.PAYMENT_STATE_PAID),
                   ("shop", P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY):
                       (20690, P.PAYMENT_STATE_PENDING),
                   ("fop", P.ORDER_PAYMENT_METHOD_CASH_ACCOUNT): (5000, P.PAYMENT_STATE_PAID),
                   ("fop", P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY):
                       (3000, P.PAYMENT_STATE_PENDING)}
    assert first.payments.payment_state == "pending"
    assert await balance(admin, card) == 6_000
    assert (await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(
        card_number=card))).cash_balance_minor == 0
    with rpc_error() as failure:
        await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
            request_id=rid(), order_id=order.order_id,
            payments=[pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 8000, "fop"),
                      pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 24690, "shop")]))
    assert failure.reason == "PAYMENTS_ALREADY_SET"

    # refunds go back to where the money came from, at most what was paid
    points = next(p for p in first.payments.payments
                  if p.method == P.ORDER_PAYMENT_METHOD_POINTS)
    with rpc_error() as failure:
        await admin.payments.RefundPayment(P.RefundPaymentRequest(
            request_id=rid(), payment_id=points.payment_id, amount_minor=4001, reason="r"))
    assert failure.fields == ["amount_minor"]
    part = await admin.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=rid(), payment_id=points.payment_id, amount_minor=1500, reason="return"))
    assert (part.payment.refunded_minor, part.payment.state) == (1500, P.PAYMENT_STATE_PAID)
    rest = await admin.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=rid(), payment_id=points.payment_id, reason="return"))
    assert (rest.payment.refunded_minor, rest.payment.state) == (4000,
                                                                P.PAYMENT_STATE_REVERSED)
    assert await balance(admin, card) == 10_000
    cash = next(p for p in first.payments.payments
                if p.method == P.ORDER_PAYMENT_METHOD_CASH_ACCOUNT)
    await admin.payments.RefundPayment(P.RefundPaymentRequest(
        request_id=rid(), payment_id=cash.payment_id, reason="return"))
    assert (await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(
        card_number=card))).cash_balance_minor == 5_000
    async with app.db.transaction() as session:
        audited = await session.scalar(text(
            "SELECT count(*) FROM audit_log WHERE object_type IN "
            "('order_payment', 'web_order') AND action IN ('set_payments', 'refund')"))
    assert audited == 4


async def test_a_certificate_pays_through_the_ledger(app, admin, make_key, client_for):
    from tests.e2e.certificates_helpers import issue, money_type, upsert_type

    await setup_shop(app, admin)
    await two_entities(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin, denomination=50000)
    web = client_for(await make_key("store_backend", store_code=WEB))
    order, _ = await split_order(admin, web, phone="+380675550102")
    done = await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
        request_id=rid(), order_id=order.order_id, payments=[
            pay(P.ORDER_PAYMENT_METHOD_CERTIFICATE, 24690, "shop", cert.number),
            pay(P.ORDER_PAYMENT_METHOD_CERTIFICATE, 8000, "fop", cert.number)]))
    assert done.payments.payment_state == "paid"
    from kopilka.v1 import certificates_pb2 as C
    got = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=cert.number))
    assert got.certificate.balance.amount_minor == 50000 - 32690
    order2, _ = await split_order(admin, web, phone="+380675550103")
    with rpc_error() as failure:  # 17310 left on it: a second order of 32690 is refused
        await web.payments.SetOrderPayments(P.SetOrderPaymentsRequest(
            request_id=rid(), order_id=order2.order_id, payments=[
                pay(P.ORDER_PAYMENT_METHOD_CERTIFICATE, 24690, "shop", cert.number),
                pay(P.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY, 8000, "fop")]))
    assert failure.reason.startswith("CERTIFICATE_") or failure.reason == "INSUFFICIENT_BALANCE"
    got = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=cert.number))
    assert got.certificate.balance.amount_minor == 50000 - 32690
