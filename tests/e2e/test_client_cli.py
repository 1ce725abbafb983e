"""The packaged client CLI calls a real server with JSON in and JSON out."""

from __future__ import annotations

import json

from kopilka.cli import call


async def test_cli_calls_rpcs_with_json(app, make_key):
    key = await make_key("admin")
    target = f"127.0.0.1:{app.grpc_port}"
    await call(target, key, "AdminService", "UpsertStore",
               json.dumps({"store": {"code": "kyiv-01", "name": "Kyiv 1",
                                     "network_codes": ["kyiv"]}}))
    listed = json.loads(await call(target, key, "AdminService", "ListStores", "{}"))
    assert listed["stores"] == [{"code": "kyiv-01", "name": "Kyiv 1", "network_codes": ["kyiv"],
                                 "time_zone": "Europe/Kyiv"}]


async def test_cli_prints_cyrillic_as_text(app, make_key):
    """A name in Ukrainian reads as written, not as \\u escapes."""
    key = await make_key("admin")
    target = f"127.0.0.1:{app.grpc_port}"
    await call(target, key, "AdminService", "UpsertStore",
               json.dumps({"store": {"code": "kyiv-01", "name": "Київ, Хрещатик 1"}}))
    printed = await call(target, key, "AdminService", "ListStores", "{}")
    assert "Київ, Хрещатик 1" in printed and "\\u" not in printed
