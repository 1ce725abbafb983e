"""JSON over HTTP (Connect's unary protocol) for web shops: a whole order through aiohttp's
client against the running server, with the keys, permissions, errors and idempotency of
the gRPC API (the same handlers and interceptor run)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from google.rpc import error_details_pb2

from server.settings import Settings
from tests.e2e.orders_support import PICKUP, member_with_points, setup_shop


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, http_listen="127.0.0.1:0",
                    api_key_cache_seconds=0.0)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Shop:
    """A web shop calling Kopilka the way a PHP or JavaScript backend would."""

    def __init__(self, http: aiohttp.ClientSession, base: str, key: str | None) -> None:
        self.http, self.base, self.key = http, base, key

    async def call(self, rpc: str, body: dict[str, Any] | str) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        data = body if isinstance(body, str) else None
        async with self.http.post(f"{self.base}/kopilka.v1.{rpc}", headers=headers,
                                  json=None if data is not None else body, data=data) as r:
            return r.status, await r.json()


def placing(card: str, request_id: str) -> dict[str, Any]:
    return {"requestId": request_id, "externalNumber": "W-77",
            "customer": {"cardNumber": card},
            "lines": [{"lineNo": 1, "sku": "sku-01", "quantityMilli": "2000",
                       "unitPriceMinor": "4590"},
                      {"lineNo": 2, "sku": "sku-02", "quantityMilli": "1000",
                       "unitPriceMinor": "10000"}],
            "delivery": {"kind": "DELIVERY_KIND_PICKUP", "pickupStoreCode": PICKUP}}


def detail(error: dict[str, Any], kind: str) -> dict[str, Any]:
    """A Connect error detail decoded from its base64 value (not the debug copy)."""
    found = next(d for d in error["details"] if d["type"] == f"google.rpc.{kind}")
    raw = base64.b64decode(found["value"] + "=" * (-len(found["value"]) % 4))
    message = getattr(error_details_pb2, kind).FromString(raw)
    from google.protobuf.json_format import MessageToDict
    assert MessageToDict(message) == found["debug"]
    return MessageToDict(message)


async def test_a_whole_order_over_json(app, admin, make_key, http) -> None:
    await setup_shop(app, admin)
    _, card = await member_with_points(admin, "067 111 00 77", 0)
    base = f"http://127.0.0.1:{app.http.port}"
    shop = Shop(http, base, await make_key("store_backend", store_code="web"))
    request_id = str(uuid.uuid4())
    status, placed = await shop.call("OrderService/PlaceOrder", placing(card, request_id))
    assert status == 200, placed
    order = placed["order"]
    assert (order["state"], order["version"], order["total"]["amountMinor"]) == (
        "ORDER_STATE_PLACED", 1, "19180")
    # the same request id again: the first answer, no second order
    status, again = await shop.call("OrderService/PlaceOrder", placing(card, request_id))
    assert status == 200 and again["order"]["orderId"] == order["orderId"]
    _, listed = await shop.call("OrderService/ListOrders", {})
    assert [o["orderId"] for o in listed["orders"]] == [order["orderId"]]

    status, got = await shop.call("OrderService/GetOrder", {"orderId": order["orderId"]})
    assert status == 200 and [x["sku"] for x in got["order"]["lines"]] == ["sku-01", "sku-02"]
    status, confirmed = await shop.call("OrderService/ConfirmOrder", {
        "requestId": str(uuid.uuid4()), "orderId": order["orderId"], "expectedVersion": 1})
    assert status == 200 and confirmed["order"]["state"] == "ORDER_STATE_CONFIRMED"
    # a stale version: ABORTED as 409 with the reason and metadata of the gRPC error
    status, stale = await shop.call("OrderService/CompleteOrder", {
        "requestId": str(uuid.uuid4()), "orderId": order["orderId"], "expectedVersion": 1})
    assert (status, stale["code"]) == (409, "aborted")
    info = detail(stale, "ErrorInfo")
    assert info["reason"] == "ORDER_VERSION_CONFLICT" and info["metadata"]["actual"] == "2"
    status, done = await shop.call("OrderService/CompleteOrder", {
        "requestId": str(uuid.uuid4()), "order_id": order["orderId"],  # proto names too
        "expected_version": 2})
    assert status == 200 and done["order"]["state"] == "ORDER_STATE_COMPLETED"
    # the gRPC client sees the very same order
    from kopilka.v1 import orders_pb2
    seen = await admin.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=order["orderId"]))
    assert seen.order.state == orders_pb2.ORDER_STATE_COMPLETED and seen.order.version == 3


async def test_refusals_carry_the_grpc_errors(app, admin, make_key, http) -> None:
    await setup_shop(app, admin)
    base = f"http://127.0.0.1:{app.http.port}"
    status, error = await Shop(http, base, None).call("OrderService/GetOrder", {})
    assert (status, error["code"]) == (401, "unauthenticated")
    assert detail(error, "ErrorInfo")["reason"] == "API_KEY_MISSING"
    status, error = await Shop(http, base, "kpk_not-a-key").call("OrderService/GetOrder", {})
    assert status == 401 and detail(error, "ErrorInfo")["reason"] == "API_KEY_INVALID"

    shop = Shop(http, base, await make_key("store_backend", store_code="web"))
    status, error = await shop.call("AdminService/UpsertStore", {
        "store": {"code": "x-01", "name": "X", "timeZone": "Europe/Kyiv"}})
    assert (status, error["code"]) == (403, "permission_denied")
    assert detail(error, "ErrorInfo")["reason"] == "PERMISSION_DENIED"

    _, card = await member_with_points(admin, "067 111 00 78", 0)
    bad = placing(card, str(uuid.uuid4()))
    bad["lines"][0]["quantityMilli"] = "0"
    bad["externalNumber"] = "W" * 500  # beyond its declared limit (server/limits.py)
    status, error = await shop.call("OrderService/PlaceOrder", bad)
    assert (status, error["code"]) == (400, "invalid_argument")
    fields = {v["field"] for v in detail(error, "BadRequest")["fieldViolations"]}
    assert "external_number" in fields
    _, listed = await shop.call("OrderService/ListOrders", {})
    assert listed.get("orders", []) == []  # nothing placed

    status, error = await shop.call("OrderService/GetOrder", '{"orderId": ')
    assert (status, error["code"]) == (400, "invalid_argument")
    assert detail(error, "ErrorInfo")["reason"] == "MALFORMED_REQUEST"
    status, error = await shop.call("OrderService/GetOrder", {"noSuchField": 1})
    assert status == 400 and detail(error, "ErrorInfo")["reason"] == "MALFORMED_REQUEST"
    async with http.post(f"{base}/kopilka.v1.OrderService/GetOrder", data=b"{}",
                         headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
