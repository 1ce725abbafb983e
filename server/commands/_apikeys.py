"""`kopilka apikey list|revoke|rotate` (create lives in server/cli.py): the same path as
AdminService's key RPCs (server/api/servicers/admin.py `*_key_once`: a request id per
invocation, one transaction, an audit row for the CLI user). Secrets are printed once, on
stdout, and never listed."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid

from server.commands._shared import (
    answers_sealer,
    cli_principal_id,
    new_request_id,
    with_database,
)
from server.settings import Settings


def register_apikey(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = cmds.add_parser("list", help="list keys: holder, roles, lifetime, last use")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    listing.set_defaults(func=cmd_list)
    revoke = cmds.add_parser("revoke", help="revoke a key (stops working within "
                             "KOPILKA_API_KEY_CACHE_SECONDS)")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_revoke)
    rotate = cmds.add_parser("rotate", help="a new secret for a key, printed once; the old "
                             "one works for the grace period")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace-seconds", type=float, default=None,
                        help="how long the old secret keeps working (default: "
                        "KOPILKA_API_KEY_ROTATION_GRACE_SECONDS)")
    rotate.set_defaults(func=cmd_rotate)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%MZ") if value else "-"


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.access.api_keys import ApiKeyInfo
    from server.db import api_keys_repo
    from server.db.database import Database

    async def work(db: Database) -> list[ApiKeyInfo]:
        async with db.transaction() as session:
            return await api_keys_repo.list_api_keys(session, include_revoked=args.all)

    now = dt.datetime.now(dt.UTC)
    print("KEY ID  NAME  KIND  ROLES  BOUND TO  STATE  EXPIRES  LAST USED")
    for k in with_database(settings, work):
        state = ("revoked" if k.revoked_at else "live" if k.live(now) else "expired")
        if k.previous_expires_at and k.previous_expires_at > now and k.live(now):
            state = f"rotating (old secret until {_when(k.previous_expires_at)})"
        bound = k.terminal_id or k.store_code or k.network_code or "all stores"
        print(f"{k.id}  {k.name}  {k.kind}  {','.join(k.roles)}  {bound}  {state}  "
              f"{_when(k.expires_at)}  {_when(k.last_used_at)}")
    return 0


def _key_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        _say(f"kopilka: {raw!r} is not a key id (a UUID; see `kopilka apikey list`)")
        return None


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from kopilka.v1 import admin_pb2

    from server.api.servicers.admin import revoke_key_once
    from server.audit.actor import acting, cli_actor
    from server.db.database import Database
    from server.errors import DomainError

    key_id = _key_id(args.key_id)
    if key_id is None:
        return 2
    request = admin_pb2.RevokeApiKeyRequest(request_id=new_request_id(), key_id=str(key_id))
    actor = cli_actor()

    async def work(db: Database) -> None:
        with acting(actor, request.request_id):  # the RPC's path: once, audited
            await revoke_key_once(db, request, dt.datetime.now(dt.UTC),
                                  principal_id=cli_principal_id(actor.label))

    try:
        with_database(settings, work)
    except DomainError as exc:
        _say(f"kopilka: refused ({exc.reason}): {exc.message}")
        return 2
    _say(f"kopilka: key {key_id} revoked; servers stop accepting it within "
         f"{settings.api_key_cache_seconds:g} s")
    return 0


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from kopilka.v1 import admin_pb2

    from server.access import api_keys
    from server.api.servicers.admin import rotate_key_once
    from server.audit.actor import acting, cli_actor
    from server.db.database import Database
    from server.errors import DomainError

    key_id = _key_id(args.key_id)
    if key_id is None:
        return 2
    request = admin_pb2.RotateApiKeyRequest(request_id=new_request_id(), key_id=str(key_id))
    if args.grace_seconds is not None:
        request.grace_period.FromTimedelta(dt.timedelta(seconds=args.grace_seconds))
    actor = cli_actor()

    async def work(db: Database) -> admin_pb2.RotateApiKeyResponse:
        grace = api_keys.rotation_grace(args.grace_seconds,
                                        settings.api_key_rotation_grace_seconds,
                                        "--grace-seconds")
        with acting(actor, request.request_id):  # the RPC's path: once, audited
            return await rotate_key_once(db, request, await answers_sealer(db),
                                         dt.datetime.now(dt.UTC), grace,
                                         principal_id=cli_principal_id(actor.label))

    try:
        rotated = with_database(settings, work)
    except DomainError as exc:
        _say(f"kopilka: refused ({exc.reason}): {exc.message}")
        return 2
    old_until = (rotated.key.previous_secret_expire_time.ToDatetime(dt.UTC)
                 if rotated.key.HasField("previous_secret_expire_time") else None)
    _say(f"kopilka: key {key_id} rotated; the old secret works until "
         f"{_when(old_until)}; the new secret is shown once:")
    print(rotated.secret)
    return 0
