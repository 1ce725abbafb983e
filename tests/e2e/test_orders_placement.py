"""PlaceOrder's one-call placement (kopilka_place_order) writes what the general path writes,
row for row, and leaves to the general path whatever it would have to refuse."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from kopilka.v1 import admin_pb2, members_pb2
from prometheus_client import REGISTRY

from server.api.servicers import orders as door
from server.db.orders import placement
from tests.e2e.orders_support import WEB, O, lines, member_with_points, place, setup_shop
from tests.helpers import rpc_error

# what differs between two placements of the same order: ids, times, the shop's number
VARYING = {"id", "order_id", "created_at", "updated_at", "event_id", "mailing_id", "hash",
           "next_attempt_at", "reserve_tx_id", "address_id", "activation", "external_number",
           "request_id"}  # the audit row's: the call's own (asserted set below)
JSON_COLUMNS = {"accrual_lots", "lot_returns", "detail", "payload", "options", "before", "after"}


async def _rows(url: str, order_id: str) -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(url)
    try:
        queries = {
            "web_orders": "SELECT * FROM web_orders WHERE id = $1::uuid",
            "lines": "SELECT * FROM web_order_lines WHERE order_id = $1::uuid ORDER BY line_no",
            "history": "SELECT * FROM web_order_history WHERE order_id = $1::uuid",
            "address": "SELECT a.* FROM member_addresses a JOIN web_orders o "
                       "ON o.address_id = a.id WHERE o.id = $1::uuid",
            "event": "SELECT * FROM outbox WHERE payload->>'order_id' = $1",
            "mailing": "SELECT m.*, m.options IS NULL AS sql_null, o.state AS queue_state, "
                       "o.attempts AS queue_attempts FROM mailings m JOIN outbox o "
                       "ON o.mailing_id = m.id WHERE m.reference LIKE 'web_order:' || $1 || ':%'",
            "audit": "SELECT principal, key_id, request_id, request_id IS NOT NULL AS has_id, "
                     "object_type, action, before, after "
                     "FROM audit_log WHERE object_id = $1",
            "ledger": "SELECT t.kind, t.receipt_id, t.principal, e.amount, a.kind AS account "
                      "FROM ledger_transactions t JOIN ledger_entries e ON e.tx_id = t.id "
                      "JOIN ledger_accounts a ON a.id = e.account_id "
                      "WHERE t.reason = 'order ' || $1",
        }
        return {name: [_plain(dict(r), order_id) for r in await conn.fetch(sql, order_id)]
                for name, sql in queries.items()}
    finally:
        await conn.close()


def _plain(row: dict[str, Any], order_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in VARYING:
            continue
        if key in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        if key == "accrual_lots":  # [points, activation time, expiry, rule]
            value = [[x[0], x[2], x[3]] for x in value]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in VARYING}
        if isinstance(value, str):
            value = value.replace(order_id, "<order>").replace("W-fast", "W").replace(
                "W-general", "W")
        out[key] = value
    return out


def _answer(reply: O.PlaceOrderResponse) -> O.PlaceOrderResponse:
    for name in ("order_id", "create_time", "update_time", "external_number"):
        reply.order.ClearField(name)  # type: ignore[arg-type]
    reply.order.delivery.address.ClearField("address_id")
    for h in reply.order.history:
        h.ClearField("change_time")
    return reply


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """No dispatcher: the queued messages stay as the placement wrote them."""
    return settings.model_copy(update={"outbox_enabled": False})


@pytest.fixture
async def shop(app, admin, make_key, client_for):  # type: ignore[no-untyped-def]
    await setup_shop(app, admin)
    return client_for(await make_key("store_backend", store_code=WEB))


@pytest.fixture
def calls(monkeypatch) -> list[bool]:  # type: ignore[no-untyped-def]
    """Every one-call attempt: True when it wrote the order."""
    made: list[bool] = []
    write = placement.write

    async def counted(*args: Any) -> bool:
        made.append(await write(*args))
        return made[-1]

    monkeypatch.setattr(placement, "write", counted)
    return made


async def _email_card(admin) -> str:  # type: ignore[no-untyped-def]
    reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()),
        profile=members_pb2.MemberProfile(first_name="Iryna", email="iryna@example.com"),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="silver"))
    return str(reply.member.cards[0].number)


PROMOTIONS = """
schema_version: 1
name: order promotions
settings: {currency: UAH, timezone: Europe/Kyiv}
groups: [{id: weekly, stacking: additive}]
rules:
  - id: dairy-10
    name: Dairy -10%
    group: weekly
    promotion: dairy-week
    target: [{groups: [dairy]}]
    benefit: {type: percent, percent: "10%"}
  - id: brand-a-5
    name: Brand A -5%
    group: weekly
    promotion: brand-a
    target: [{brands: [Brand A]}]
    benefit: {type: percent, percent: "5%"}
"""


@pytest.mark.parametrize("case", ["pickup", "points", "courier by e-mail", "promotions"])
async def test_one_call_writes_what_the_general_path_writes(app, admin, shop, calls,
                                                            database_url, monkeypatch, case):
    _, card = await member_with_points(admin, "+380671112233", 5000)
    customer, points, delivery = O.Customer(card_number=card), 0, None
    if case == "points":
        points = 700
    if case == "promotions":  # lines with none, one or two (migration 0044's arrays)
        await admin.admin.ApplyRuleSet(admin_pb2.ApplyRuleSetRequest(
            request_id=str(uuid.uuid4()), document=PROMOTIONS))
        await app.deps.pricing.refresh()
    if case == "courier by e-mail":
        customer = O.Customer(card_number=await _email_card(admin), language="en")
        delivery = O.Delivery(kind=O.DELIVERY_KIND_COURIER, address=O.Address(
            city=" Kyiv ", street="Khreshchatyk 1", recipient_name="Iryna"))
    order_lines = lines(*[(f"sku-{i:02d}", 1000 * (i % 3 + 1), 1000 + 37 * i)
                          for i in range(1, 21)])
    fast = await shop.orders.PlaceOrder(place(customer, order_lines, points=points,
                                              number="W-fast", delivery=delivery))
    assert calls == [True]
    monkeypatch.setattr(door.OrderServicer, "_place_at_once", _general)
    general = await shop.orders.PlaceOrder(place(customer, order_lines, points=points,
                                                 number="W-general", delivery=delivery))
    assert calls == [True]
    fast_rows = await _rows(database_url, fast.order.order_id)
    assert fast_rows == await _rows(database_url, general.order.order_id)
    assert all(fast_rows[name] for name in ("web_orders", "history", "event", "mailing",
                                            "audit"))
    assert len(fast_rows["lines"]) == 20 and fast_rows["audit"][0]["has_id"]
    assert bool(fast_rows["ledger"]) == bool(points)
    assert bool(fast_rows["address"]) == (delivery is not None)
    assert _answer(fast) == _answer(general)
    if case == "promotions":
        assert {len(x["promotions"]) for x in fast_rows["lines"]} == {0, 1, 2}


async def _general(*_: Any) -> None:
    return None


def _fallbacks() -> dict[str, float]:
    """kopilka_order_placement_fallbacks_total by the reasons these tests cause."""
    return {reason: REGISTRY.get_sample_value("kopilka_order_placement_fallbacks_total",
                                              {"reason": reason}) or 0.0
            for reason in ("request_id", "pickup_store_code")}


async def test_what_one_call_cannot_decide_the_general_path_answers(admin, shop, calls):
    _, card = await member_with_points(admin, "+380671112244", 300)
    customer = O.Customer(card_number=card)
    request = place(customer, lines(("sku-01", 1000, 5000)), points=300)
    first = await shop.orders.PlaceOrder(request)
    assert calls == [True] and first.order.points_reserved == 300
    before = _fallbacks()
    assert await shop.orders.PlaceOrder(request) == first  # the retry: answered from its claim
    assert calls == [True, False]
    assert _fallbacks() == {**before, "request_id": before["request_id"] + 1}
    missing = O.Delivery(kind=O.DELIVERY_KIND_PICKUP, pickup_store_code="nowhere")
    with rpc_error() as failure:
        await shop.orders.PlaceOrder(place(customer, lines(("sku-01", 1000, 5000)),
                                           number="W-2", delivery=missing))
    assert calls == [True, False, False]
    assert _fallbacks() == {"request_id": before["request_id"] + 1,
                            "pickup_store_code": before["pickup_store_code"] + 1}
    assert failure.reason == "STORE_NOT_FOUND"
    assert failure.fields == ["delivery.pickup_store_code"]
    listed = await shop.orders.ListOrders(O.ListOrdersRequest())
    assert [o.external_number for o in listed.orders] == ["W-1"]
