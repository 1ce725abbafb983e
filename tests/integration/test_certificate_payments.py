"""The ledger engineer's interface: pay_with_certificate / refund_to_certificate on a real
session inside the caller's transaction, with the clock under the test's control."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from server.certificates import service
from server.certificates.model import (
    CertificateKind,
    CertificateState,
    CertificateTypeInfo,
    ExpiredRefundPolicy,
    RemainderPolicy,
)
from server.db.certificates.payments import pay_with_certificate, refund_to_certificate
from server.db.certificates.repo import SqlCertificateRepository, expire_due
from server.db.org.repo import upsert_store
from server.errors import DomainError
from server.org.model import StoreInfo

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


async def _setup(app, **type_fields) -> str:
    fields = {"valid_days": 30, **type_fields}
    t = CertificateTypeInfo(code="gift", name="Gift", kind=CertificateKind.MONEY,
                            currency="UAH", denominations=(100000,), number_prefix="2100",
                            **fields)
    async with app.db.transaction() as session:
        await upsert_store(session, StoreInfo("kyiv-01", "Kyiv", "Europe/Kyiv", ()))
        repo = SqlCertificateRepository(session)
        await service.upsert_type(repo, t)
        [cert] = await service.issue(repo, type_code="gift", count=1, store_code="kyiv-01",
                                     denomination_minor=0, print_only=False, now=T0,
                                     principal="test", batch_id=uuid.uuid4())
    return cert.number


async def _pay(app, number: str, amount: int, now: dt.datetime = T0,
               receipt: uuid.UUID | None = None, currency: str = "UAH") -> uuid.UUID:
    receipt = receipt or uuid.uuid4()
    async with app.db.transaction() as session:
        await pay_with_certificate(session, number=number, amount_minor=amount,
                                   receipt_id=receipt, store_code="kyiv-01", currency=currency,
                                   now=now)
    return receipt


async def _refund(app, number: str, amount: int, receipt: uuid.UUID,
                  now: dt.datetime = T0) -> None:
    async with app.db.transaction() as session:
        await refund_to_certificate(session, number=number, amount_minor=amount,
                                    receipt_id=receipt, now=now)


async def _state(app, number: str) -> tuple[CertificateState, int, int]:
    """(state, cached balance, ledger sum)."""
    async with app.db.transaction() as session:
        cert = await SqlCertificateRepository(session).certificate(number)
        total = await session.scalar(text(
            "SELECT SUM(amount_minor) FROM certificate_entries WHERE certificate_id = :id"),
            {"id": cert.id})
    return cert.state, cert.balance_minor, int(total)


async def _reason(coro) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        await coro
    return caught.value.reason


async def test_pay_and_refund_inside_the_callers_transaction(app):
    number = await _setup(app)
    receipt = await _pay(app, number, 60000)
    assert await _state(app, number) == (CertificateState.ACTIVE, 40000, 40000)

    # the caller's transaction fails later: the spend is rolled back with it
    with pytest.raises(RuntimeError):
        async with app.db.transaction() as session:
            await pay_with_certificate(session, number=number, amount_minor=40000,
                                       receipt_id=uuid.uuid4(), store_code="kyiv-01",
                                       currency="UAH", now=T0)
            raise RuntimeError("receipt failed to confirm")
    assert await _state(app, number) == (CertificateState.ACTIVE, 40000, 40000)

    await _pay(app, number, 40000)
    assert await _state(app, number) == (CertificateState.REDEEMED, 0, 0)
    await _refund(app, number, 60000, receipt)  # a fully used certificate comes back
    assert await _state(app, number) == (CertificateState.ACTIVE, 60000, 60000)
    assert await _reason(_refund(app, number, 1, receipt)) == \
        "CERTIFICATE_REFUND_EXCEEDS_PAYMENT"


async def test_refusals(app):
    number = await _setup(app)
    assert await _reason(_pay(app, "2100000009999", 100)) == "CERTIFICATE_NOT_FOUND"
    assert await _reason(_pay(app, number, 100001)) == "INSUFFICIENT_BALANCE"
    assert await _reason(_pay(app, number, 100, currency="EUR")) == \
        "CERTIFICATE_CURRENCY_MISMATCH"
    late = T0 + dt.timedelta(days=30)
    assert await _reason(_pay(app, number, 100, now=late)) == "CERTIFICATE_EXPIRED"
    assert await _reason(_pay(app, number, 0)) == "INVALID_ARGUMENT"
    await _pay(app, number, 100, now=late - dt.timedelta(seconds=1))  # last valid moment
    async with app.db.transaction() as session:
        await service.block(SqlCertificateRepository(session), number=number, reason="stolen",
                            now=T0, principal="test")
    assert await _reason(_pay(app, number, 100)) == "CERTIFICATE_BLOCKED"
    assert await _state(app, number) == (CertificateState.BLOCKED, 99900, 99900)


async def test_fixed_dates_not_yet_valid(app):
    start = T0 + dt.timedelta(days=10)
    number = await _setup(app, valid_days=0, valid_from=start,
                          valid_until=start + dt.timedelta(days=5))
    assert await _reason(_pay(app, number, 100)) == "CERTIFICATE_NOT_ACTIVE"
    await _pay(app, number, 100, now=start)
    assert await _reason(_pay(app, number, 100, now=start + dt.timedelta(days=5))) == \
        "CERTIFICATE_EXPIRED"


async def test_forfeit_remainder_and_refund_after_it(app):
    number = await _setup(app, remainder_policy=RemainderPolicy.FORFEIT)
    receipt = await _pay(app, number, 30000)
    assert await _state(app, number) == (CertificateState.REDEEMED, 0, 0)
    assert await _reason(_pay(app, number, 1)) == "CERTIFICATE_NOT_ACTIVE"
    await _refund(app, number, 30000, receipt)  # the goods come back, not the forfeited rest
    assert await _state(app, number) == (CertificateState.ACTIVE, 30000, 30000)


async def test_refund_to_expired_follows_policy(app):
    number = await _setup(app, expired_refund_policy=ExpiredRefundPolicy.FORFEIT)
    receipt = await _pay(app, number, 100000)
    late = T0 + dt.timedelta(days=40)
    await _refund(app, number, 50000, receipt, now=late)
    assert await _state(app, number) == (CertificateState.EXPIRED, 0, 0)


async def test_concurrent_spends_and_expiry_never_overdraw(app):
    number = await _setup(app)

    async def attempt() -> bool:
        try:
            await _pay(app, number, 7000)
            return True
        except DomainError as error:
            assert error.reason == "INSUFFICIENT_BALANCE"
            return False

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert sum(results) == 14  # 14 x 70.00 = 980.00 of 1,000.00
    assert await _state(app, number) == (CertificateState.ACTIVE, 2000, 2000)
    async with app.db.transaction() as session:
        assert await expire_due(session, T0 + dt.timedelta(days=31)) == [("UAH", 1, 2000)]
    assert await _state(app, number) == (CertificateState.EXPIRED, 0, 0)
