"""Gift certificates "as money" through the generated client on a real server and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import grpc
from kopilka.v1 import certificates_pb2 as C

from server.members.cards import card_number, is_valid_ean13
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


async def test_batch_issue_numbers_validity_and_ledger(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type(template="{name}: {denomination} {currency} "
                                                 "until {expire_date}"))
    before = dt.datetime.now(dt.UTC)
    certs = await issue(admin, count=3, denomination=50000)
    assert [c.number for c in certs] == [card_number("2100", n) for n in (1, 2, 3)]
    for cert in certs:
        assert is_valid_ean13(cert.number)
        assert cert.state == C.CERTIFICATE_STATE_ACTIVE and cert.kind == C.CERTIFICATE_KIND_MONEY
        assert cert.balance.amount_minor == cert.denomination.amount_minor == 50000
        assert cert.store_code == "kyiv-01"
        activated = cert.activate_time.ToDatetime(tzinfo=dt.UTC)
        assert before - dt.timedelta(seconds=1) <= activated <= dt.datetime.now(dt.UTC)
        assert cert.expire_time.ToDatetime(tzinfo=dt.UTC) - activated == dt.timedelta(days=365)
    reply = await history(admin, certs[0].number)
    assert entry_kinds(reply) == [("issue", 50000)]
    assert_ledger_matches(reply)
    # the next batch continues the series
    [fourth] = await issue(admin)
    assert fourth.number == card_number("2100", 4) and fourth.balance.amount_minor == 100000


async def test_issue_is_idempotent_and_validates_every_field(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    request = C.IssueCertificateRequest(request_id=rid(), certificate_type="gift", count=2,
                                        store_code="kyiv-01", denomination_minor=50000)
    first = await admin.certificates.IssueCertificate(request)
    assert await admin.certificates.IssueCertificate(request) == first
    [third] = await issue(admin)
    assert third.number == card_number("2100", 3)  # the retry took no numbers

    cases = [
        ({"denomination_minor": 12345}, ["denomination_minor"], "INVALID_ARGUMENT"),
        ({"denomination_minor": 0}, ["denomination_minor"], "INVALID_ARGUMENT"),
        ({"count": 1001}, ["count"], "INVALID_ARGUMENT"),
        ({"certificate_type": "nope"}, ["certificate_type"], "CERTIFICATE_TYPE_NOT_FOUND"),
        ({"store_code": "nowhere"}, ["store_code"], "INVALID_ARGUMENT"),
        ({"store_code": ""}, ["store_code"], "INVALID_ARGUMENT"),
        ({"request_id": "x"}, ["request_id"], "INVALID_ARGUMENT"),
    ]
    for change, fields, reason in cases:
        values = {"request_id": rid(), "certificate_type": "gift", "store_code": "kyiv-01",
                  "denomination_minor": 50000, **change}
        with rpc_error() as failure:
            await admin.certificates.IssueCertificate(C.IssueCertificateRequest(**values))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, change
        assert (failure.fields, failure.reason) == (fields, reason), change
    [after] = await issue(admin)
    assert after.number == card_number("2100", 4)  # nothing was written by the failures


async def test_type_validation_names_fields_and_freezes_series_in_use(admin):
    await setup_stores(admin)
    bad = money_type(code="Bad Code", name="", currency="uah", denominations_minor=[0],
                     number_prefix="31", valid_days=0, template="{nope}")
    with rpc_error() as failure:
        await upsert_type(admin, bad)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == [
        "certificate_type.code", "certificate_type.name", "certificate_type.currency",
        "certificate_type.denominations_minor[0]", "certificate_type.number_prefix",
        "certificate_type.valid_days", "certificate_type.template",
    ]
    listed = await admin.certificates.ListCertificateTypes(C.ListCertificateTypesRequest())
    assert list(listed.certificate_types) == []

    stored = await upsert_type(admin, money_type())
    assert stored.refund_extension_days == 30  # default
    assert stored.expired_refund_policy == C.EXPIRED_REFUND_POLICY_REACTIVATE
    with rpc_error() as failure:  # "21" would let the two series produce the same numbers
        await upsert_type(admin, money_type(code="other", prefix="21"))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "NUMBER_PREFIX_TAKEN"

    await issue(admin)
    with rpc_error() as failure:
        await upsert_type(admin, money_type(prefix="2200"))
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CERTIFICATE_TYPE_IN_USE"
    assert failure.fields == ["certificate_type.number_prefix"]
    renamed = await upsert_type(admin, money_type(name="Renamed", denominations_minor=[25000]))
    assert renamed.name == "Renamed"


async def test_partial_use_keeps_remainder(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin, denomination=50000)
    after = await redeem(admin, cert.number, 30000)
    assert after.balance.amount_minor == 20000 and after.state == C.CERTIFICATE_STATE_ACTIVE
    with rpc_error() as failure:
        await redeem(admin, cert.number, 20001)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "INSUFFICIENT_BALANCE"
    done = await redeem(admin, cert.number, 20000)
    assert done.balance.amount_minor == 0 and done.state == C.CERTIFICATE_STATE_REDEEMED
    with rpc_error() as failure:
        await redeem(admin, cert.number, 1)
    assert failure.reason == "CERTIFICATE_NOT_ACTIVE"
    reply = await history(admin, cert.number)
    assert entry_kinds(reply) == [("issue", 50000), ("redeem", -30000), ("redeem", -20000)]
    assert [e.store_code for e in reply.entries] == ["kyiv-01"] * 3
    assert_ledger_matches(reply)


async def test_forfeit_policy_writes_off_the_remainder(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type(code="once", prefix="2200",
                                        remainder_policy=C.REMAINDER_POLICY_FORFEIT))
    [cert] = await issue(admin, "once")
    receipt = await sale(admin)
    after = await redeem(admin, cert.number, 30000, receipt_id=receipt)
    assert after.balance.amount_minor == 0 and after.state == C.CERTIFICATE_STATE_REDEEMED
    assert after.remainder_policy == C.REMAINDER_POLICY_FORFEIT
    reply = await history(admin, cert.number)
    assert entry_kinds(reply) == [("issue", 100000), ("redeem", -30000), ("forfeit", -70000)]
    assert reply.entries[2].receipt_id == receipt
    assert_ledger_matches(reply)


async def test_spending_refusals_name_the_rule(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin)
    receipt = await sale(admin)
    cases = [
        ({"number": "2100000009999"}, grpc.StatusCode.NOT_FOUND, "CERTIFICATE_NOT_FOUND"),
        ({"currency": "USD"}, grpc.StatusCode.FAILED_PRECONDITION,
         "CERTIFICATE_CURRENCY_MISMATCH"),
        ({"sku": "SKU-1", "amount": None}, grpc.StatusCode.FAILED_PRECONDITION,
         "CERTIFICATE_KIND_MISMATCH"),
    ]
    for change, code, reason in cases:
        request = C.RedeemCertificateRequest(request_id=rid(), number=change.get(
            "number", cert.number), receipt_id=receipt, store_code="kyiv-01",
            sku=change.get("sku", ""))
        if "amount" not in change:
            request.amount.amount_minor = 100
            request.amount.currency = change.get("currency", "UAH")
        with rpc_error() as failure:
            await admin.certificates.RedeemCertificate(request)
        assert (failure.code, failure.reason) == (code, reason), change

    bad_inputs = [
        (C.RedeemCertificateRequest(request_id=rid(), number=cert.number, receipt_id=receipt,
                                    store_code="kyiv-01"), ["amount"]),
        (C.RedeemCertificateRequest(request_id=rid(), number=cert.number, receipt_id="r1",
                                    store_code="kyiv-01"), ["receipt_id"]),
        (C.RedeemCertificateRequest(request_id=rid(), number="", receipt_id=receipt,
                                    store_code="kyiv-01"), ["number"]),
    ]
    for request, fields in bad_inputs:
        with rpc_error() as failure:
            await admin.certificates.RedeemCertificate(request)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.fields == fields
    request = C.RedeemCertificateRequest(request_id=rid(), number=cert.number,
                                         receipt_id=receipt, store_code="kyiv-01")
    request.amount.amount_minor = -5
    request.amount.currency = "uah"
    with rpc_error() as failure:
        await admin.certificates.RedeemCertificate(request)
    assert failure.fields == ["amount.amount_minor", "amount.currency"]
    reply = await history(admin, cert.number)
    assert entry_kinds(reply) == [("issue", 100000)]  # nothing was spent by any of them


async def test_redeem_for_a_receipt_that_does_not_exist_is_not_found(admin):
    """A certificate pays for a receipt: an id that names none spends nothing."""
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin)
    with rpc_error() as failure:
        await redeem(admin, cert.number, 100, receipt_id=rid())
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "RECEIPT_NOT_FOUND")
    assert entry_kinds(await history(admin, cert.number)) == [("issue", 100000)]
    assert (await redeem(admin, cert.number, 100)).balance.amount_minor == 99900


async def test_redeem_is_idempotent_on_request_id(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin)
    request = C.RedeemCertificateRequest(request_id=rid(), number=cert.number,
                                         receipt_id=await sale(admin), store_code="kyiv-01")
    request.amount.amount_minor, request.amount.currency = 40000, "UAH"
    first = await admin.certificates.RedeemCertificate(request)
    again = await admin.certificates.RedeemCertificate(request)
    assert again == first and first.certificate.balance.amount_minor == 60000
    assert entry_kinds(await history(admin, cert.number)) == [("issue", 100000),
                                                              ("redeem", -40000)]
