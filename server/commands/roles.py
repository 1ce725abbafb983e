"""`kopilka roles list|apply FILE|delete NAME`: roles as data, from the shell.

The same use cases as RoleService (server/auth/role_service.py), with the same guards, run
on the database directly. Running servers pick a change up within
KOPILKA_ROLES_REFRESH_SECONDS. `list` prints JSON in the shape `apply` reads (YAML or JSON):

    roles:
      - name: vip_desk
        description: Contact center desk for VIP members
        grants:
          - {object_type: members, action: read}
          - vip_members.read          # shorthand: object_type.action[@scope]
          - members.update@all
        member_fields: [first_name, last_name, phone, email]
        mask_phone: false
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.commands._shared import with_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.auth.roles import RawGrant, Role
    from server.db.database import Database


def _raw_grant(item: Any) -> RawGrant:
    from server.auth.roles import RawGrant

    if isinstance(item, str):
        right, _, scope = item.partition("@")
        object_type, _, action = right.partition(".")
        return RawGrant(object_type, action, scope)
    if isinstance(item, dict):
        return RawGrant(str(item.get("object_type", "")), str(item.get("action", "")),
                        str(item.get("scope", "") or ""))
    return RawGrant("", "")


def parse_file(text: str) -> list[Role]:
    """The roles of a YAML/JSON document; INVALID_ARGUMENT naming `roles[i].field`."""
    import yaml

    from server.auth.roles import parse_role
    from server.errors import DomainError, Violations, invalid

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise invalid("(document)", f"not YAML or JSON: {exc}") from None
    items = doc.get("roles") if isinstance(doc, dict) and "roles" in doc else [doc]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid("roles", "a list of roles (mappings with name, grants, ...)")
    roles: list[Role] = []
    errors = Violations()
    for i, item in enumerate(items):
        try:
            roles.append(parse_role(
                str(item.get("name", "")), [_raw_grant(g) for g in item.get("grants") or []],
                [str(f) for f in item.get("member_fields") or []],
                bool(item.get("mask_phone", True)), str(item.get("description", "") or ""),
                prefix=f"roles[{i}]"))
        except DomainError as error:
            errors.items.extend(error.violations)
    errors.raise_if_any()
    return roles


def _as_dict(role: Role) -> dict[str, Any]:
    return {"name": role.name, "description": role.description,
            "grants": [{"object_type": g.object_type.value, "action": g.action.value,
                        "scope": g.scope.value}
                       for g in sorted(role.grants, key=lambda g: (g.object_type, g.action))],
            "member_fields": sorted(role.view.fields), "mask_phone": role.view.mask_phone}


def _refused(error: Exception) -> int:
    from server.errors import DomainError

    if not isinstance(error, DomainError):
        raise error
    print(f"kopilka: refused ({error.reason}): {error.message}", file=sys.stderr)
    return 2


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from server.db.roles.repo import load_roles

    async def work(db: Database) -> list[Role]:
        async with db.transaction() as session:
            return await load_roles(session)

    roles = with_database(settings, work)
    print(json.dumps({"roles": [_as_dict(r) for r in roles]}, indent=2, ensure_ascii=False))
    return 0


def cmd_apply(settings: Settings, args: argparse.Namespace) -> int:
    """Every role of the file in one transaction, each with UpsertRole's audit row (the
    invocation's request id on them all): the file is not one RPC, but who changed which
    role's rights is kept exactly as for the RPC."""
    from server.api.servicers.roles import upsert_change
    from server.audit.actor import acting, cli_actor
    from server.auth import role_service
    from server.commands._shared import new_request_id
    from server.db.audit.repo import record
    from server.db.roles.repo import SqlRoleRepository
    from server.errors import DomainError

    try:
        roles = parse_file(Path(args.file).read_text(encoding="utf-8"))
        actor = cli_actor()

        async def work(db: Database) -> None:
            with acting(actor, new_request_id()):
                async with db.transaction() as session:  # all of the file or nothing
                    repo = SqlRoleRepository(session)
                    for role in roles:
                        await role_service.upsert_role(repo, role, actor.label)
                        await record(session, upsert_change(role))

        with_database(settings, work)
    except DomainError as error:
        return _refused(error)
    print(f"applied {len(roles)} role(s): {', '.join(r.name for r in roles)}; running servers "
          f"pick them up within {settings.roles_refresh_seconds:g} s")
    return 0


def cmd_delete(settings: Settings, args: argparse.Namespace) -> int:
    from kopilka.v1 import roles_pb2

    from server.api.servicers.roles import delete_role_once
    from server.audit.actor import acting, cli_actor
    from server.commands._shared import cli_principal_id, new_request_id
    from server.errors import DomainError

    request = roles_pb2.DeleteRoleRequest(request_id=new_request_id(), name=args.name)
    actor = cli_actor()

    async def work(db: Database) -> None:
        with acting(actor, request.request_id):  # the RPC's path: once, audited
            await delete_role_once(db, request, principal_id=cli_principal_id(actor.label))

    try:
        with_database(settings, work)
    except DomainError as error:
        return _refused(error)
    print(f"deleted role {args.name}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roles = sub.add_parser("roles", help="roles: what API keys may do and see (README: Roles)")
    cmds = roles.add_subparsers(dest="roles_command", required=True)
    cmds.add_parser("list", help="print every role as JSON").set_defaults(func=cmd_list)
    apply = cmds.add_parser("apply", help="create or replace the roles of a YAML/JSON file")
    apply.add_argument("file")
    apply.set_defaults(func=cmd_apply)
    delete = cmds.add_parser("delete", help="delete a role no live key holds")
    delete.add_argument("name")
    delete.set_defaults(func=cmd_delete)
