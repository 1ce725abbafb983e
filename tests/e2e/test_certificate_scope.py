"""Certificates across stores (docs/certificates.md, "Stores and keys"): spent anywhere in the
chain, money given back only where it was spent, managed by the issuing store's keys.

Demo data: kyiv-01 and kyiv-02 are in network "kyiv", lviv-01 in network "lviv".
"""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import certificates_pb2 as C

from server.auth.principal import PrincipalKind
from server.demo import load_demo_data
from tests.e2e.certificates_helpers import (
    history,
    issue,
    money_type,
    redeem,
    refund,
    rid,
    sale,
    upsert_type,
)
from tests.helpers import rpc_error


@pytest.fixture
async def world(app, admin) -> None:
    await load_demo_data(app.db.url)
    await upsert_type(admin, money_type())


async def test_money_goes_back_to_a_certificate_only_where_it_was_spent(
        world, admin, make_key, client_for):
    kyiv = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                     store_code="kyiv-01", terminal_id="t1"))
    lviv = client_for(await make_key("cashier", kind=PrincipalKind.TERMINAL,
                                     store_code="lviv-01", terminal_id="t1"))
    [cert] = await issue(admin, store="kyiv-01")  # sold in Kyiv: 1000.00
    in_lviv, in_kyiv = await sale(lviv, "lviv-01"), await sale(kyiv, "kyiv-01")
    await redeem(lviv, cert.number, 10000, receipt_id=in_lviv, store="")  # spendable anywhere
    await redeem(kyiv, cert.number, 20000, receipt_id=in_kyiv, store="")

    with rpc_error() as unknown:
        await refund(lviv, cert.number, 20000, rid())
    with rpc_error() as failure:  # Kyiv's spend, as if there were none
        await refund(lviv, cert.number, 20000, in_kyiv)
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "CERTIFICATE_REFUND_EXCEEDS_PAYMENT")
    assert (failure.reason, failure.message) == (unknown.reason, unknown.message)
    assert (await history(admin, cert.number)).certificate.balance.amount_minor == 70000

    assert (await refund(lviv, cert.number, 10000, in_lviv)).balance.amount_minor == 80000
    assert (await refund(kyiv, cert.number, 20000, in_kyiv)).balance.amount_minor == 100000

    seen = {(e.kind, e.store_code): e.receipt_id for e in
            (await history(lviv, cert.number)).entries}
    assert seen[("redeem", "lviv-01")] == in_lviv
    assert seen[("redeem", "kyiv-01")] == ""  # Kyiv's receipts stay Kyiv's
    assert seen[("refund", "kyiv-01")] == ""
    assert {e.receipt_id for e in (await history(admin, cert.number)).entries} >= {in_kyiv}


async def test_a_network_key_manages_its_networks_certificates_only(
        world, admin, make_key, client_for):
    region = client_for(await make_key("operator", network_code="kyiv"))
    [ours] = await issue(region, store="kyiv-02")
    [theirs] = await issue(admin, store="lviv-01")
    with rpc_error() as failure:
        await issue(region, store="lviv-01")
    assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["store_code"])

    for call in (
        region.certificates.BlockCertificate(C.BlockCertificateRequest(
            request_id=rid(), number=theirs.number, reason="lost")),
        region.certificates.ReissueCertificate(C.ReissueCertificateRequest(
            request_id=rid(), number=theirs.number, reason="lost")),
    ):
        with rpc_error() as failure:
            await call
        assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["number"])
    assert (await history(admin, theirs.number)).certificate.state == C.CERTIFICATE_STATE_ACTIVE
    blocked = await region.certificates.BlockCertificate(C.BlockCertificateRequest(
        request_id=rid(), number=ours.number, reason="lost"))
    assert blocked.certificate.state == C.CERTIFICATE_STATE_BLOCKED

    start, end = Timestamp(), Timestamp()
    start.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    end.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))

    def report(store: str) -> C.GetCertificateUsageReportRequest:
        return C.GetCertificateUsageReportRequest(from_time=start, to_time=end, store_code=store)

    for store in ("", "lviv-01"):  # not the whole chain, not another network's store
        with rpc_error() as failure:
            await region.certificates.GetCertificateUsageReport(report(store))
        assert failure.fields == ["store_code"]
    rows = (await region.certificates.GetCertificateUsageReport(report("kyiv-02"))).rows
    assert [r.store_code for r in rows] == ["kyiv-02"]
    rows = (await admin.certificates.GetCertificateUsageReport(report(""))).rows
    assert {r.store_code for r in rows} == {"kyiv-02", "lviv-01"}
