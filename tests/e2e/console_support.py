"""Shared setup of the console tests: a server with the HTTP site on, users, members."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import aiohttp
import pytest
from kopilka.v1 import members_pb2 as M

from server.access import service as access
from server.api.servicers.users import access_policy
from server.db.access.repo import SqlUserRepository
from tests.e2e.ledger_support import new_member, setup_world

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0",
                    http_listen="127.0.0.1:0", data_dir=tmp_path, log_format="text",
                    db_pool_size=5, api_key_cache_seconds=0.0,
                    manual_points_approval_threshold=5000)


async def make_user(app, email: str, *roles: str) -> None:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        await access.create_user(SqlUserRepository(session), access_policy(app.settings),
                                 {"admin", "operator", "cashier", "console", "integrator",
                                  "store_backend"}, name=email.split("@")[0], email=email,
                                 roles=list(roles), password=PASSWORD, now=app.deps.clock())


def base_url(app) -> str:  # type: ignore[no-untyped-def]
    return f"http://127.0.0.1:{app.http.port}/console"


async def seeded(app, admin) -> list:  # type: ignore[no-untyped-def]
    """A store, card types and three members, one with a last name to search for."""
    await setup_world(admin)
    members = [await new_member(admin, n) for n in range(1, 4)]
    await admin.members.UpdateMemberProfile(M.UpdateMemberProfileRequest(
        request_id=str(uuid.uuid4()), member_id=members[0].member_id,
        profile=M.MemberProfile(last_name="Шевченко", first_name="Тарас"),
        update_fields=["last_name", "first_name"], source="test"))
    return members


async def http_login(session: aiohttp.ClientSession, url: str, email: str) -> str:
    """Sign in over plain HTTP; returns the page's CSRF token."""
    async with session.get(url + "/login") as page:
        nonce = _csrf(await page.text())
    async with session.post(url + "/login", data={"csrf": nonce, "email": email,
                                                  "password": PASSWORD}) as answer:
        assert answer.status == 200, await answer.text()
        return _csrf(await answer.text())


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def shots_dir(tmp_path: Path) -> Path:
    path = tmp_path / "screenshots"
    path.mkdir(exist_ok=True)
    return path
