"""What-if over RPC: a candidate rule set priced over the confirmed receipts of a period,
totals streamed per page, per rule and against what was actually given; nothing written."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import os
import uuid
from unittest import mock

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import admin_pb2, receipts_pb2
from kopilka.v1 import promotions_pb2 as P
from sqlalchemy import text

from server.cli import main
from server.demo import load_demo_data
from tests.helpers import rid, rpc_error

R = receipts_pb2
ACTUAL = """
rules:
  - {id: dairy-10, target: [{groups: [dairy]}], benefit: {type: percent, percent: "10%"}}
"""
CANDIDATE = """
rules:
  - {id: dairy-20, target: [{groups: [dairy]}], benefit: {type: percent, percent: "20%"}}
  - {id: bread-3-for-2, target: [{groups: [bakery]}], benefit: {type: m_for_n, buy: 3, pay: 2}}
"""


def ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def line(n: int, sku: str, qty: int, price: int) -> R.ReceiptLine:
    return R.ReceiptLine(line_no=n, sku=sku, quantity_milli=qty, unit_price_minor=price)


@pytest.fixture
async def sold(app, admin):
    await load_demo_data(app.db.url)
    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(request_id=rid(), document=ACTUAL))
    receipts = [
        [line(1, "dairy-01", 2000, 5000), line(2, "bakery-01", 3000, 2000)],  # 100.00, 60.00
        [line(1, "bakery-02", 1000, 3000)],                                   # 30.00
        [line(1, "dairy-02", 1000, 4000)],                                    # 40.00
    ]
    for number, lines in enumerate(receipts, start=1):
        calc = await admin.receipts.CalculateReceipt(R.CalculateReceiptRequest(
            store_code="kyiv-01", terminal_id="till-1", lines=lines))
        await admin.receipts.ConfirmReceipt(R.ConfirmReceiptRequest(
            request_id=str(uuid.uuid4()), calculation_id=calc.calculation_id,
            receipt_number=f"W-{number}",
            payments=[R.Payment(method=R.PAYMENT_METHOD_CASH,
                                amount_minor=calc.total.amount_minor)]))
    return admin


async def counts(app) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        return tuple((await session.execute(text(
            "SELECT (SELECT count(*) FROM receipts), (SELECT count(*) FROM receipt_details), "
            "(SELECT count(*) FROM rule_sets), (SELECT count(*) FROM ledger_entries)"))).one())


async def test_what_if_reports_per_rule_and_against_what_was_given(sold, app):
    before = await counts(app)
    now = dt.datetime.now(dt.UTC)
    request = P.WhatIfRequest(document=CANDIDATE, period_start=ts(now - dt.timedelta(hours=1)),
                              period_end=ts(now + dt.timedelta(hours=1)))
    steps = [step async for step in sold.promotions.WhatIf(request)]
    assert steps[-1].done and all(not s.done for s in steps[:-1])
    report = steps[-1].report
    assert steps[-1].receipts_expected == 3
    assert (report.receipts, report.lines, report.skipped) == (3, 4, 0)
    # actual: 10% of 100.00 + 10% of 40.00 = 14.00
    assert report.actual_discount_minor == 1400
    # candidate: 20% of 100.00 and of 40.00 = 28.00; 3 breads for 2: 20.00 -> 48.00
    assert report.discount_minor == 4800 and report.difference_minor == 3400
    assert [(r.rule_id, r.discount_minor, r.receipts) for r in report.rules] == [
        ("bread-3-for-2", 2000, 1), ("dairy-20", 2800, 2)]
    assert report.receipts_affected == 2  # the lone 30.00 bread gets nothing either way
    assert report.points == report.actual_points == 0  # anonymous sales
    assert report.candidate_version and await counts(app) == before  # nothing written

    empty = [s async for s in sold.promotions.WhatIf(P.WhatIfRequest(
        document=CANDIDATE, period_start=ts(now - dt.timedelta(days=3)),
        period_end=ts(now - dt.timedelta(days=2))))]
    assert len(empty) == 1 and empty[0].done and empty[0].report.receipts == 0


async def test_what_if_refuses_bad_input_naming_the_field(sold):
    now = dt.datetime.now(dt.UTC)
    with rpc_error() as failure:
        async for _ in sold.promotions.WhatIf(P.WhatIfRequest(
                document=CANDIDATE, period_start=ts(now), period_end=ts(now))):
            pass
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["period_end"]
    with rpc_error() as failure:
        async for _ in sold.promotions.WhatIf(P.WhatIfRequest(
                document="rules: [{id: x}]", period_start=ts(now),
                period_end=ts(now + dt.timedelta(days=1)))):
            pass
    assert failure.reason == "INVALID_RULE_SET" and failure.fields == ["rules[0].benefit"]


async def test_what_if_needs_a_key_with_promotions_read(sold, make_key, client_for):
    cashier = client_for(await make_key("cashier", store_code="kyiv-01"))
    now = dt.datetime.now(dt.UTC)
    with rpc_error() as failure:
        async for _ in cashier.promotions.WhatIf(P.WhatIfRequest(
                document=CANDIDATE, period_start=ts(now),
                period_end=ts(now + dt.timedelta(days=1)))):
            pass
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED


async def test_what_if_from_the_command_line(sold, app, database_url, tmp_path):
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE)
    today = dt.datetime.now(dt.UTC).date()
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with mock.patch.dict(os.environ, {"KOPILKA_DATABASE_URL": database_url}), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(["promotions", "what-if", str(candidate), "--from", str(today),
                         "--to", str(today + dt.timedelta(days=1))])

    before = await counts(app)
    assert await asyncio.wait_for(asyncio.to_thread(run), timeout=60) == 0
    assert "100% 3/3 receipts" in err.getvalue()  # the progress bar
    text_out = out.getvalue()
    assert "3 receipts, 4 lines" in text_out
    assert "discount 48.00 (given 14.00, difference 34.00); receipts affected 2" in text_out
    assert "dairy-20" in text_out and "28.00 on 2 receipt(s)" in text_out
    assert await counts(app) == before
