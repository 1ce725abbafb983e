"""The telephony hook over real HTTP: a signed call registers an appeal and finds the member
by the caller's number; a retry is the same appeal; a forged or stale signature is refused
403 and records nothing."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from kopilka.v1 import appeals_pb2 as AP

from server.features.telephony import PATH, signature
from tests.e2e.ledger_support import new_member, setup_world
from tests.ports import idle_port

SECRET = "pbx-shared-secret"


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
        http_listen=f"127.0.0.1:{idle_port()}", telephony_secret=SECRET)


async def post(app, body: bytes, *, secret: str = SECRET, skew: int = 0,  # type: ignore[no-untyped-def]
               sign: bool = True) -> tuple[int, dict[str, object]]:
    stamp = str(int(time.time()) + skew)
    headers = {"Content-Type": "application/json", "X-Kopilka-Timestamp": stamp}
    if sign:
        headers["X-Kopilka-Signature"] = signature(secret, stamp, body)
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{app.http.port}{PATH}", data=body, headers=headers) as reply:
        return reply.status, await reply.json()


async def test_a_signed_call_registers_an_appeal_for_the_caller(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 21)
    body = json.dumps({"call_id": "pbx-1", "caller": "0670000021"}).encode()
    status, first = await post(app, body)
    assert status == 200 and first["member_id"] == member.member_id and first["created"]
    status, again = await post(app, body)
    assert status == 200 and again["appeal_id"] == first["appeal_id"] and not again["created"]
    got = (await admin.appeals.GetAppeal(AP.GetAppealRequest(
        appeal_id=str(first["appeal_id"])))).appeal
    assert (got.channel, got.caller_phone, got.state) == (
        AP.APPEAL_CHANNEL_CALL, "+380670000021", AP.APPEAL_STATE_NEW)
    assert got.history[0].actor == "telephony-hook"
    status, unknown = await post(app, json.dumps({"call_id": "pbx-2",
                                                  "caller": "anonymous"}).encode())
    assert status == 200 and unknown["member_id"] is None


async def test_forged_missing_or_stale_signatures_are_refused_and_nothing_is_recorded(
        app, admin):
    body = json.dumps({"call_id": "pbx-9", "caller": "0670000021"}).encode()
    for kwargs in ({"secret": "guess"}, {"sign": False}, {"skew": -3600}):
        status, _ = await post(app, body, **kwargs)  # type: ignore[arg-type]
        assert status == 403, kwargs
    page = await admin.appeals.ListAppeals(AP.ListAppealsRequest())
    assert list(page.appeals) == []
    status, error = await post(app, b'{"caller": "1"}')
    assert status == 400 and "call_id" in str(error["error"])
