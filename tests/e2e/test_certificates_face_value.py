"""Face values are bounded by the type (min, max, step) and an absolute cap; the usage report
survives rows holding huge values written before the bounds existed.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
from alembic import command
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import certificates_pb2 as C
from sqlalchemy import text

from server.db.migrate import alembic_config
from server.members.cards import card_number
from tests.cli import kopilka
from tests.e2e.certificates_helpers import issue, money_type, setup_stores, upsert_type
from tests.helpers import rpc_error

INT64_MAX = 2**63 - 1
CAP = 10_000_000_000  # 100 million in major units


def free_type(code: str = "free", prefix: str = "2200", **fields) -> C.CertificateType:
    return money_type(code=code, prefix=prefix, denominations_minor=[], **fields)


async def refused_issue(admin, certificate_type: str, value: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rpc_error() as failure:
        await issue(admin, certificate_type, denomination=value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, value
    return failure.fields


async def test_a_free_value_type_bounds_what_a_till_may_issue(admin):
    await setup_stores(admin)
    stored = await upsert_type(admin, free_type(min_denomination_minor=10000,
                                                max_denomination_minor=500000,
                                                denomination_step_minor=500))
    assert (stored.min_denomination_minor, stored.max_denomination_minor,
            stored.denomination_step_minor) == (10000, 500000, 500)
    [listed] = (await admin.certificates.ListCertificateTypes(
        C.ListCertificateTypesRequest())).certificate_types
    assert listed.max_denomination_minor == 500000

    for value in (INT64_MAX, 9500, 500500, 10250, -1):
        assert await refused_issue(admin, "free", value) == ["denomination_minor"]
    [first] = await issue(admin, "free", denomination=10500)
    assert first.number == card_number("2200", 1)  # the refusals took no numbers
    assert first.denomination.amount_minor == 10500
    [top] = await issue(admin, "free", denomination=500000)
    assert top.balance.amount_minor == 500000


async def test_defaults_keep_fixed_values_and_cap_free_ones(admin):
    await setup_stores(admin)
    fixed = await upsert_type(admin, money_type())  # 500.00 and 1000.00
    assert (fixed.min_denomination_minor, fixed.max_denomination_minor,
            fixed.denomination_step_minor) == (50000, 100000, 1)
    [cert] = await issue(admin, "gift", denomination=50000)
    assert cert.denomination.amount_minor == 50000
    product = await upsert_type(admin, money_type(
        code="spa", prefix="2300", kind=C.CERTIFICATE_KIND_PRODUCT, denominations_minor=[250000],
        product_skus=["SPA-1"]))
    assert (product.min_denomination_minor, product.max_denomination_minor) == (250000, 250000)
    assert (await issue(admin, "spa", denomination=0))[0].denomination.amount_minor == 250000

    free = await upsert_type(admin, free_type())
    assert (free.min_denomination_minor, free.max_denomination_minor,
            free.denomination_step_minor) == (1, CAP, 1)
    for value in (INT64_MAX, CAP + 1):
        assert await refused_issue(admin, "free", value) == ["denomination_minor"]
    assert (await issue(admin, "free", denomination=CAP))[0].balance.amount_minor == CAP


async def test_bad_bounds_name_their_fields(admin):
    await setup_stores(admin)
    cases = [
        (free_type(min_denomination_minor=5000, max_denomination_minor=1000),
         ["certificate_type.max_denomination_minor"]),
        (free_type(max_denomination_minor=CAP + 1), ["certificate_type.max_denomination_minor"]),
        (free_type(min_denomination_minor=-5), ["certificate_type.min_denomination_minor"]),
        (free_type(denomination_step_minor=-100), ["certificate_type.denomination_step_minor"]),
        (free_type(min_denomination_minor=150, denomination_step_minor=100),
         ["certificate_type.min_denomination_minor"]),
        (money_type(denominations_minor=[50000, 100050], denomination_step_minor=100),
         ["certificate_type.denominations_minor[1]"]),
        (money_type(denominations_minor=[50000, 100000], max_denomination_minor=60000),
         ["certificate_type.denominations_minor[1]"]),
    ]
    for bad, fields in cases:
        with rpc_error() as failure:
            await upsert_type(admin, bad)
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert failure.fields == fields, bad
    listed = await admin.certificates.ListCertificateTypes(C.ListCertificateTypesRequest())
    assert list(listed.certificate_types) == []


async def test_batch_issue_on_the_command_line_is_bounded(admin, database_url):
    await setup_stores(admin)
    await upsert_type(admin, free_type(max_denomination_minor=100000))
    code, _, err = await kopilka(database_url, "certificates", "issue", "--type", "free",
                                 "--count", "150", "--store", "kyiv-01", "--denomination",
                                 str(INT64_MAX))
    assert code == 2 and "denomination_minor" in err
    code, _, err = await kopilka(database_url, "certificates", "issue", "--type", "free",
                                 "--count", "1", "--store", "kyiv-01", "--denomination", "100000")
    assert code == 0, err
    assert f"{card_number('2200', 1)} .. {card_number('2200', 1)}" in err  # nothing before


def _ts(when: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


async def _plant_huge_certificate(app, number: str, store: str) -> None:  # type: ignore[no-untyped-def]
    """A certificate of 2^63-1 as a till could issue before face values were bounded."""
    async with app.db.transaction() as session:
        cert_id = await session.scalar(text(
            "INSERT INTO certificates (number, type_code, kind, currency, state, "
            "denomination_minor, balance_minor, remainder_policy, store_code, activated_at, "
            "expires_at) VALUES (:n, 'free', 'money', 'UAH', 'active', :v, :v, 'keep', :s, "
            "now(), now() + interval '1 year') RETURNING id"),
            {"n": number, "v": INT64_MAX, "s": store})
        await session.execute(text(
            "INSERT INTO certificate_entries (certificate_id, kind, amount_minor, "
            "balance_after_minor, store_code) VALUES (:c, 'issue', :v, :v, :s)"),
            {"c": cert_id, "v": INT64_MAX, "s": store})


async def test_the_usage_report_survives_values_from_before_the_bounds(app, admin,
                                                                         database_url):
    await setup_stores(admin, "kyiv-01", "lviv-01")
    await upsert_type(admin, free_type())
    await _plant_huge_certificate(app, "2200999999993", "kyiv-01")
    await issue(admin, "free", denomination=100000, store="kyiv-01")
    await issue(admin, "free", denomination=70000, store="lviv-01")

    now = dt.datetime.now(dt.UTC)
    for start, end in ((now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
                       (now + dt.timedelta(days=1), now + dt.timedelta(days=30))):
        reply = await admin.certificates.GetCertificateUsageReport(
            C.GetCertificateUsageReportRequest(from_time=_ts(start), to_time=_ts(end)))
        kyiv, lviv = reply.rows
        assert (kyiv.store_code, kyiv.outstanding_minor, kyiv.outstanding_count,
                kyiv.amounts_saturated) == ("kyiv-01", INT64_MAX, 2, True)
        assert (lviv.store_code, lviv.outstanding_minor, lviv.amounts_saturated) == (
            "lviv-01", 70000, False)
    today = [r for r in (await admin.certificates.GetCertificateUsageReport(
        C.GetCertificateUsageReportRequest(
            from_time=_ts(now - dt.timedelta(days=1)), to_time=_ts(now + dt.timedelta(days=1)),
            store_code="kyiv-01"))).rows]
    assert (today[0].issued_count, today[0].issued_minor) == (2, INT64_MAX)

    # the command line has no int64 limit: it prints the exact sums
    day = now.date()
    code, out, err = await kopilka(database_url, "certificates", "report", "--from",
                                   str(day - dt.timedelta(1)), "--to",
                                   str(day + dt.timedelta(days=2)), "--store", "kyiv-01")
    assert code == 0, err
    exact = f"{(INT64_MAX + 100000) // 100}.{(INT64_MAX + 100000) % 100:02d}"
    assert out.strip().splitlines()[1].split("\t")[3] == exact


async def test_types_from_before_the_bounds_get_the_bounds_they_implied(app, admin,
                                                                        database_url):
    """Migration 0011 run over types stored without bounds (the schema of 0004)."""
    cfg = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, cfg, "0011-1")
    async with app.db.transaction() as session:
        for code, prefix, denominations in (("old-free", "2400", []),
                                            ("old-fixed", "2500", [100000, 50000])):
            await session.execute(text(
                "INSERT INTO certificate_types (code, name, kind, currency, denominations, "
                "barcode_format, number_prefix, next_sequence, remainder_policy, valid_days, "
                "expired_refund_policy, refund_extension_days, product_skus, product_groups, "
                "template) VALUES (:c, :name, 'money', 'UAH', CAST(:d AS bigint[]), 'ean13', :p, "
                "1, 'keep', 365, 'reactivate', 30, '{}', '{}', '')"),
                {"c": code, "name": code, "p": prefix, "d": denominations})
    await asyncio.to_thread(command.upgrade, cfg, "heads")

    listed = await admin.certificates.ListCertificateTypes(C.ListCertificateTypesRequest())
    bounds = {t.code: (t.min_denomination_minor, t.max_denomination_minor,
                       t.denomination_step_minor) for t in listed.certificate_types}
    assert bounds == {"old-fixed": (50000, 100000, 1), "old-free": (1, CAP, 1)}
    await setup_stores(admin)
    assert await refused_issue(admin, "old-free", INT64_MAX) == ["denomination_minor"]
    assert (await issue(admin, "old-fixed", denomination=50000))[0].balance.amount_minor == 50000
