"""`kopilka users create|list|disable|set-password`: operator users from the shell.

The same path as UserService (server/api/servicers/users.py `*_once`: a request id per
invocation, one transaction, an audit row for the CLI user). A password never goes on the
command line (it would show in `ps` and the shell history): it is read from standard input
when that is not a terminal (one line), else asked for twice without echo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from dataclasses import asdict, dataclass

from server.commands._shared import (
    answers_sealer,
    cli_principal_id,
    new_request_id,
    with_database,
)
from server.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="manage operator users of the console")
    cmds = users.add_subparsers(dest="users_command", required=True)
    create = cmds.add_parser("create", help="add a user; the password is read from stdin")
    create.add_argument("--name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", action="append", required=True,
                        help="role to grant (repeatable), as for API keys")
    create.set_defaults(func=cmd_create)
    listing = cmds.add_parser("list", help="list users (never passwords or secrets)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)
    disable = cmds.add_parser("disable", help="stop a user signing in; ends their sessions")
    disable.add_argument("email")
    disable.set_defaults(func=cmd_disable)
    password = cmds.add_parser("set-password", help="a new password (from stdin); ends the "
                               "user's sessions and any lockout")
    password.add_argument("email")
    password.set_defaults(func=cmd_set_password)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the passwords differ")
    return first


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refused(exc: Exception) -> int:
    from server.errors import DomainError

    message = exc.message if isinstance(exc, DomainError) else str(exc)
    reason = f" ({exc.reason})" if isinstance(exc, DomainError) else ""
    _say(f"kopilka: refused{reason}: {message}")
    return 2


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    from kopilka.v1 import users_pb2

    from server.api.servicers.users import access_policy, create_user_once
    from server.audit.actor import acting, cli_actor
    from server.db.database import Database
    from server.errors import DomainError

    try:
        password = _read_password()
    except ValueError as exc:
        return _refused(exc)
    request = users_pb2.CreateUserRequest(request_id=new_request_id(), name=args.name,
                                          email=args.email, roles=args.role,
                                          password=password)
    actor = cli_actor()

    async def work(db: Database) -> str:
        with acting(actor, request.request_id):  # the RPC's path: once, audited
            made = await create_user_once(db, request, access_policy(settings),
                                          await answers_sealer(db), _now(),
                                          principal_id=cli_principal_id(actor.label))
        return made.user.user_id

    try:
        user_id = with_database(settings, work)
    except DomainError as exc:
        return _refused(exc)
    _say(f"kopilka: user {user_id} created")
    print(user_id)
    return 0


@dataclass
class UserRow:
    """One user as listed: never the password hash or TOTP secret."""

    user_id: str
    email: str
    name: str
    roles: list[str]
    totp: bool
    state: str
    last_login: str


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.access.repo import SqlUserRepository
    from server.db.database import Database

    async def work(db: Database) -> list[UserRow]:
        async with db.transaction() as session:
            users = await SqlUserRepository(session).list_users()
        now = _now()
        return [UserRow(str(u.id), u.email, u.name, list(u.roles), u.totp_enabled,
                        "disabled" if u.disabled_at else
                        "locked" if u.locked_until and u.locked_until > now else "active",
                        u.last_login_at.isoformat() if u.last_login_at else "")
                for u in users]

    rows = with_database(settings, work)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        print(f"{r.user_id}  {r.email}  {','.join(r.roles)}  {r.state}  "
              f"{'totp' if r.totp else '-'}  {r.last_login or '-'}")
    return 0


def _by_email(settings: Settings, email: str, change: str, password: str = "") -> int:
    from kopilka.v1 import users_pb2

    from server.access import service
    from server.access.model import normal_email
    from server.api.servicers.users import access_policy, disable_user_once, set_password_once
    from server.audit.actor import acting, cli_actor
    from server.db.access.repo import SqlUserRepository
    from server.db.database import Database
    from server.errors import DomainError

    actor = cli_actor()
    request_id = new_request_id()

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            user = await SqlUserRepository(session).user_by_email(normal_email(email))
        if user is None:
            raise service.user_not_found(email)
        principal_id = cli_principal_id(actor.label)
        with acting(actor, request_id):  # the RPC's path: once, audited
            if change == "disable":
                await disable_user_once(db, users_pb2.DisableUserRequest(
                    request_id=request_id, user_id=str(user.id)), _now(),
                    principal_id=principal_id)
            else:
                await set_password_once(db, users_pb2.SetPasswordRequest(
                    request_id=request_id, user_id=str(user.id), password=password),
                    access_policy(settings), await answers_sealer(db), _now(),
                    principal_id=principal_id)

    try:
        with_database(settings, work)
    except DomainError as exc:
        return _refused(exc)
    _say(f"kopilka: {email}: {'disabled' if change == 'disable' else 'password changed'}")
    return 0


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _by_email(settings, args.email, "disable")


def cmd_set_password(settings: Settings, args: argparse.Namespace) -> int:
    try:
        password = _read_password()
    except ValueError as exc:
        return _refused(exc)
    return _by_email(settings, args.email, "password", password)
