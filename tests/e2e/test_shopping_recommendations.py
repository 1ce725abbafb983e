"""Recommendations end to end: confirmed receipts (booked over gRPC) counted into product
pairs by the jobs pass, served by GetRecommendations ranked with their reason, never a
product of the basket; cancelled receipts do not count."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from kopilka.v1 import receipts_pb2
from kopilka.v1 import shopping_pb2 as S

from server.audit.actor import JOBS, acting
from server.features.jobs import run_all_jobs
from server.receipts.calculation import CalculatedLine
from tests.e2e.ledger_support import calculation, confirm
from tests.e2e.shopping_support import WEB, line, setup_world
from tests.helpers import rid, rpc_error

RECEIPTS = (("milk-1", "bread-1", "butter-1"), ("milk-1", "bread-1"), ("milk-1", "butter-1"),
            ("milk-1", "bread-1", "jam-1"), ("tea-1",))


@pytest.fixture
async def world(admin, make_key, client_for):  # type: ignore[no-untyped-def]
    return await setup_world(admin, make_key, client_for)


async def sell(app, admin, skus: tuple[str, ...]) -> str:  # type: ignore[no-untyped-def]
    lines = [CalculatedLine(n, sku, 1000, 1000, 1000, 0, 0, 1000, 0)
             for n, sku in enumerate(skus, start=1)]
    calc = calculation(app, None, lines, store=WEB)
    reply = await admin.receipts.ConfirmReceipt(confirm(calc, f"R-{uuid.uuid4().hex[:8]}",
                                                        total=1000 * len(skus)))
    return str(reply.receipt_id)


def ask(*skus: str, limit: int = 0) -> S.GetRecommendationsRequest:
    return S.GetRecommendationsRequest(lines=[line(s) for s in skus], limit=limit)


async def test_products_bought_together_are_recommended_best_first(world, admin, app):
    for skus in RECEIPTS:
        await sell(app, admin, skus)
    cancelled = await sell(app, admin, ("bread-1", "butter-1"))
    await admin.receipts.CancelReceipt(receipts_pb2.CancelReceiptRequest(
        request_id=str(uuid.uuid4()), receipt_id=cancelled, reason="test"))

    before = await world.web.shopping.GetRecommendations(ask("milk-1"))
    assert list(before.recommendations) == [] and not before.HasField("computed_time")

    with acting(JOBS):
        done = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), app.settings)
        assert done is not None and done.counts["product_pairs"] == 4  # both directions
        fresh = await run_all_jobs(app.db, dt.datetime.now(dt.UTC), app.settings)
        assert fresh is not None and fresh.counts["product_pairs"] == 0  # counted recently

    got = await world.web.shopping.GetRecommendations(ask("milk-1"))
    assert got.HasField("computed_time")
    assert [(r.sku, r.because_of_sku, r.pair_count, r.confidence_permille, r.support_permille)
            for r in got.recommendations] == [("bread-1", "milk-1", 3, 750, 600),
                                              ("butter-1", "milk-1", 2, 500, 400)]
    assert got.recommendations[0].reason == \
        "bought together with milk-1 in 3 receipts (75.0% of the receipts with it)"

    # never what the basket holds; bread with butter was bought together once only (the
    # cancelled receipt does not count), below the two receipts a pair needs
    both = await world.web.shopping.GetRecommendations(ask("milk-1", "bread-1"))
    assert [(r.sku, r.because_of_sku) for r in both.recommendations] == [("butter-1", "milk-1")]
    assert [r.sku for r in (await world.web.shopping.GetRecommendations(
        ask("butter-1"))).recommendations] == ["milk-1"]
    one = await world.web.shopping.GetRecommendations(ask("milk-1", limit=1))
    assert [r.sku for r in one.recommendations] == ["bread-1"]
    assert list((await world.web.shopping.GetRecommendations(ask("tea-1"))).recommendations) \
        == []


async def test_bad_recommendation_requests_name_the_field(world):
    with rpc_error() as failure:
        await world.web.shopping.GetRecommendations(ask("milk-1", limit=101))
    assert failure.fields == ["limit"]
    with rpc_error() as failure:
        await world.web.shopping.GetRecommendations(ask("milk-1", ""))
    assert failure.fields == ["lines[1].sku"]


HINT_RULES = """
rules:
  - {id: tea-3-for-2, name: Tea 3 for 2, target: [{skus: [tea-1]}],
     benefit: {type: m_for_n, buy: 3, pay: 2}}
  - {id: big-basket, name: Big basket, conditions: {min_receipt_amount: 10000},
     benefit: {type: percent, percent: "10%", scope: receipt}}
"""


def priced(*items: tuple[str, int, int]) -> S.GetRecommendationsRequest:
    return S.GetRecommendationsRequest(lines=[line(s, q, p) for s, q, p in items])


async def test_a_basket_one_unit_short_of_a_promotion_is_told_so(world, admin):
    from kopilka.v1 import admin_pb2, receipts_pb2

    await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
        request_id=rid(), document=HINT_RULES))
    short = await world.web.shopping.GetRecommendations(priced(("tea-1", 2000, 1500)))
    assert [(h.rule_id, h.message, h.missing_quantity_milli, h.missing_amount_minor)
            for h in short.promotion_hints] == [
        ("tea-3-for-2", "One more unit and 1 is free (3 for 2): Tea 3 for 2 "
         "(rule tea-3-for-2)", 1000, 0)]

    # the same hints as CalculateReceipt gives the same lines at the same store
    till = await admin.receipts.CalculateReceipt(receipts_pb2.CalculateReceiptRequest(
        store_code=WEB, lines=[receipts_pb2.ReceiptLine(
            line_no=1, sku="tea-1", quantity_milli=2000, unit_price_minor=1500)]))
    assert list(till.hints) == list(short.promotion_hints)

    # three teas qualify: no hint; nor for a basket far from both promotions
    for basket in (priced(("tea-1", 3000, 1500)), priced(("milk-1", 1000, 1000))):
        assert list((await world.web.shopping.GetRecommendations(basket)).promotion_hints) \
            == []

    # 80.00 of a 100.00 threshold: the missing amount, in minor units
    near = await world.web.shopping.GetRecommendations(priced(("milk-1", 4000, 2000)))
    assert [(h.rule_id, h.missing_quantity_milli, h.missing_amount_minor)
            for h in near.promotion_hints] == [("big-basket", 0, 2000)]
    assert near.promotion_hints[0].message.startswith("Spend 20.00 more for 10% off")

    # lines without a quantity only name products for the pairs: nothing is priced
    assert list((await world.web.shopping.GetRecommendations(
        ask("tea-1", "milk-1"))).promotion_hints) == []


async def test_bad_basket_lines_for_hints_name_the_field(world):
    with rpc_error() as failure:
        await world.web.shopping.GetRecommendations(priced(("tea-1", -1000, 100),
                                                           ("milk-1", 1000, -1)))
    assert failure.fields == ["lines[0].quantity_milli", "lines[1].unit_price_minor"]
