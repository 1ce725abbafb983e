"""Print and activate, refunds, expiry, block, reissue, report and permissions over gRPC."""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import certificates_pb2 as C
from sqlalchemy import text

from server.auth.principal import PrincipalKind
from tests.e2e.certificates_helpers import (
    assert_ledger_matches,
    entry_kinds,
    history,
    issue,
    money_type,
    redeem,
    refund,
    rid,
    sale,
    setup_stores,
    upsert_type,
)
from tests.helpers import rpc_error


async def backdate_expiry(app, number: str) -> None:
    """Arrange a certificate whose validity ended an hour ago (tests cannot wait a year)."""
    async with app.db.transaction() as session:
        await session.execute(text(
            "UPDATE certificates SET expires_at = now() - interval '1 hour' WHERE number = :n"
        ), {"n": number})


async def test_printed_batch_is_sold_at_the_till(admin, make_key, client_for):
    await setup_stores(admin, "kyiv-01", "lviv-01")
    await upsert_type(admin, money_type())
    printed = await issue(admin, count=2, print_only=True)
    assert {c.state for c in printed} == {C.CERTIFICATE_STATE_NEW}
    assert printed[0].balance.amount_minor == 0 and not printed[0].HasField("expire_time")
    with rpc_error() as failure:
        await redeem(admin, printed[0].number, 100)
    assert failure.reason == "CERTIFICATE_NOT_ACTIVE"

    till = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                     store_code="lviv-01", terminal_id="t1"))
    sold = (await till.certificates.ActivateCertificate(C.ActivateCertificateRequest(
        request_id=rid(), number=printed[0].number))).certificate
    assert sold.state == C.CERTIFICATE_STATE_ACTIVE and sold.store_code == "lviv-01"
    assert sold.balance.amount_minor == 100000 and sold.HasField("expire_time")
    with rpc_error() as failure:
        await till.certificates.ActivateCertificate(C.ActivateCertificateRequest(
            request_id=rid(), number=printed[0].number))
    assert failure.reason == "CERTIFICATE_STATE_TRANSITION_INVALID"
    with rpc_error() as failure:  # a till sells for its own store only
        await till.certificates.ActivateCertificate(C.ActivateCertificateRequest(
            request_id=rid(), number=printed[1].number, store_code="kyiv-01"))
    assert failure.fields == ["store_code"]
    with rpc_error() as failure:  # and does not administer
        await till.certificates.BlockCertificate(C.BlockCertificateRequest(
            request_id=rid(), number=printed[1].number, reason="x"))
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_returns_go_back_to_the_certificate_never_more_than_paid(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin, denomination=50000)
    receipt, other = await sale(admin), await sale(admin)
    await redeem(admin, cert.number, 30000, receipt_id=receipt)
    await redeem(admin, cert.number, 20000, receipt_id=other)  # now fully used
    back = await refund(admin, cert.number, 10000, receipt)
    assert back.state == C.CERTIFICATE_STATE_ACTIVE and back.balance.amount_minor == 10000
    await refund(admin, cert.number, 15000, receipt)
    with rpc_error() as failure:  # 30000 paid on that receipt, 25000 already returned
        await refund(admin, cert.number, 5001, receipt)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "CERTIFICATE_REFUND_EXCEEDS_PAYMENT"
    with rpc_error() as failure:
        await refund(admin, cert.number, 1, rid())  # never paid there
    assert failure.reason == "CERTIFICATE_REFUND_EXCEEDS_PAYMENT"
    reply = await history(admin, cert.number)
    assert entry_kinds(reply) == [("issue", 50000), ("redeem", -30000), ("redeem", -20000),
                                  ("refund", 10000), ("refund", 15000)]
    assert_ledger_matches(reply)


async def test_expiry_refusal_job_and_refund_policies(app, admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())  # REACTIVATE, 30 days
    await upsert_type(admin, money_type(code="strict", prefix="2200",
                                        expired_refund_policy=C.EXPIRED_REFUND_POLICY_FORFEIT))
    [kind, strict] = [(await issue(admin, t))[0] for t in ("gift", "strict")]
    r1, r2 = await sale(admin), await sale(admin)
    await redeem(admin, kind.number, 40000, receipt_id=r1)
    await redeem(admin, strict.number, 40000, receipt_id=r2)
    for cert in (kind, strict):
        await backdate_expiry(app, cert.number)
        with rpc_error() as failure:
            await redeem(admin, cert.number, 100)
        assert failure.reason == "CERTIFICATE_EXPIRED"
        assert (await history(admin, cert.number)).certificate.state == \
            C.CERTIFICATE_STATE_EXPIRED

    job = await admin.certificates.ExpireCertificates(C.ExpireCertificatesRequest(
        request_id=rid()))
    assert job.expired_count == 2
    assert [(m.currency, m.amount_minor) for m in job.written_off] == [("UAH", 120000)]
    again = await admin.certificates.ExpireCertificates(C.ExpireCertificatesRequest(
        request_id=rid()))
    assert again.expired_count == 0

    revived = await refund(admin, kind.number, 40000, r1)
    assert revived.state == C.CERTIFICATE_STATE_ACTIVE and revived.balance.amount_minor == 40000
    days = (revived.expire_time.ToDatetime(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).days
    assert days in (29, 30)
    lost = await refund(admin, strict.number, 40000, r2)
    assert lost.state == C.CERTIFICATE_STATE_EXPIRED and lost.balance.amount_minor == 0
    reply = await history(admin, strict.number)
    assert entry_kinds(reply) == [("issue", 100000), ("redeem", -40000), ("expire", -60000),
                                  ("refund", 40000), ("expire", -40000)]
    assert_ledger_matches(reply)
    assert_ledger_matches(await history(admin, kind.number))


async def test_block_then_reissue_carries_the_balance(admin):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin)
    receipt = await sale(admin)
    await redeem(admin, cert.number, 25000, receipt_id=receipt)
    with rpc_error() as failure:
        await admin.certificates.BlockCertificate(C.BlockCertificateRequest(
            request_id=rid(), number=cert.number))
    assert failure.fields == ["reason"]
    blocked = (await admin.certificates.BlockCertificate(C.BlockCertificateRequest(
        request_id=rid(), number=cert.number, reason="customer lost it"))).certificate
    assert blocked.state == C.CERTIFICATE_STATE_BLOCKED
    with rpc_error() as failure:
        await redeem(admin, cert.number, 100)
    assert failure.reason == "CERTIFICATE_BLOCKED"

    reply = await admin.certificates.ReissueCertificate(C.ReissueCertificateRequest(
        request_id=rid(), number=cert.number, reason="replacement for a lost one"))
    old, new = reply.old_certificate, reply.new_certificate
    assert old.state == C.CERTIFICATE_STATE_CLOSED and old.balance.amount_minor == 0
    assert old.replaced_by_number == new.number and new.replaces_number == cert.number
    assert new.state == C.CERTIFICATE_STATE_ACTIVE and new.balance.amount_minor == 75000
    assert new.expire_time == cert.expire_time  # a reissue never extends validity
    with rpc_error() as failure:
        await admin.certificates.ReissueCertificate(C.ReissueCertificateRequest(
            request_id=rid(), number=cert.number, reason="again"))
    assert failure.reason == "CERTIFICATE_STATE_TRANSITION_INVALID"

    # goods bought with the old number come back onto the new one
    back = await refund(admin, cert.number, 25000, receipt)
    assert back.number == new.number and back.balance.amount_minor == 100000
    assert entry_kinds(await history(admin, cert.number)) == [
        ("issue", 100000), ("redeem", -25000), ("block", 0), ("reissue_out", -75000)]
    assert entry_kinds(await history(admin, new.number)) == [("reissue_in", 75000),
                                                             ("refund", 25000)]


def ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def test_usage_report_by_store_and_period(admin):
    await setup_stores(admin, "kyiv-01", "lviv-01")
    await upsert_type(admin, money_type())
    await upsert_type(admin, money_type(code="once", prefix="2200",
                                        remainder_policy=C.REMAINDER_POLICY_FORFEIT))
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    kyiv = await issue(admin, count=3, denomination=50000)
    [lviv] = await issue(admin, store="lviv-01")
    [once] = await issue(admin, "once", store="lviv-01")
    receipt = await sale(admin, "lviv-01")
    await redeem(admin, kyiv[0].number, 20000, store="lviv-01", receipt_id=receipt)
    await refund(admin, kyiv[0].number, 5000, receipt)
    await redeem(admin, lviv.number, 100000, store="lviv-01")
    await redeem(admin, once.number, 10000, store="kyiv-01")
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    report = await admin.certificates.GetCertificateUsageReport(
        C.GetCertificateUsageReportRequest(from_time=ts(start), to_time=ts(end)))
    rows = {r.store_code: r for r in report.rows}
    assert set(rows) == {"kyiv-01", "lviv-01"}
    k, v = rows["kyiv-01"], rows["lviv-01"]
    assert (k.issued_count, k.issued_minor) == (3, 150000)
    assert (v.issued_count, v.issued_minor) == (2, 200000)
    assert (k.redeemed_minor, k.forfeited_minor) == (10000, 90000)  # spent in Kyiv
    assert (v.redeemed_minor, v.refunded_minor) == (115000, 5000)  # 200 - 50 + 1000
    # liability stays with the selling store: Kyiv sold 3 x 500, 150 net was spent
    assert (k.outstanding_minor, k.outstanding_count) == (135000, 3)
    assert (v.outstanding_minor, v.outstanding_count) == (0, 0)

    only = await admin.certificates.GetCertificateUsageReport(
        C.GetCertificateUsageReportRequest(from_time=ts(start), to_time=ts(end),
                                           store_code="lviv-01"))
    assert [r.store_code for r in only.rows] == ["lviv-01"]
    earlier = await admin.certificates.GetCertificateUsageReport(
        C.GetCertificateUsageReportRequest(from_time=ts(start - dt.timedelta(days=1)),
                                           to_time=ts(start)))
    assert list(earlier.rows) == []
    with rpc_error() as failure:
        await admin.certificates.GetCertificateUsageReport(
            C.GetCertificateUsageReportRequest(from_time=ts(end), to_time=ts(start)))
    assert failure.fields == ["to_time"]
