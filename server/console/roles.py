"""The console's roles: the list (ListRoles, as every list page) with a form to create or
edit a role and a button to delete one, each the RoleService RPC through `Door`.

The form sends the role whole, as UpsertRole takes it: its code, description, the rights as
checkboxes grouped by object type (each action labelled with the permissions it gives,
server/auth/permissions.py NEEDS), one scope per object type, the member fields shown and
whether the phone is masked. The console parses nothing: a ticked "object.action" becomes a
grant as written, so an unknown one is the RPC's to refuse, naming the field; a refusal
(bad input, the last administrator's rights, a role live keys still hold) shows at its
field or its row with nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from google.protobuf.message import Message
from kopilka.v1 import roles_pb2

from server.auth.grants import Action, ObjectType, Scope
from server.auth.permissions import NEEDS
from server.auth.principal import Principal
from server.console.common import PREFIX
from server.errors import DomainError, ErrorKind
from server.members.model import PROFILE_FIELDS

if TYPE_CHECKING:
    from server.console.web import Console

R = "/kopilka.v1.RoleService/"
BACK = PREFIX + "/lists/roles"


def catalogue() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Each object type with its actions and the permissions each (object, action) gives."""
    gives: dict[tuple[str, str], list[str]] = {}
    for permission, right in NEEDS.items():
        if right is not None:
            gives.setdefault((right[0].value, right[1].value), []).append(permission.value)
    return [(o.value, [(a.value, sorted(gives.get((o.value, a.value), []))) for a in Action])
            for o in ObjectType]


def short(role: roles_pb2.Role) -> str:
    """A role's rights in a line per object type: "audit: read, export (network)"."""
    by_type: dict[tuple[str, str], list[str]] = {}
    for g in role.grants:
        by_type.setdefault((g.object_type, g.scope or Scope.ALL.value), []).append(g.action)
    return "; ".join(f"{o}: {', '.join(actions)}" + ("" if scope == Scope.ALL.value
                                                     else f" ({scope})")
                     for (o, scope), actions in by_type.items())


@dataclass(slots=True)
class RoleForm:
    """What the form shows: a stored role, a blank one, or what was posted."""

    name: str = ""
    description: str = ""
    grants: set[str] = field(default_factory=set)  # "object_type.action"
    scopes: dict[str, str] = field(default_factory=dict)  # object type -> scope
    member_fields: set[str] = field(default_factory=set)
    mask_phone: bool = False
    request_id: str = ""  # the posted form's; the request id of its UpsertRole

    @classmethod
    def of(cls, role: roles_pb2.Role) -> RoleForm:
        scopes: dict[str, str] = {}
        reach = [s.value for s in Scope]  # narrowest first: the form shows the widest held
        for g in role.grants:
            scope = g.scope or Scope.ALL.value
            held = scopes.get(g.object_type)
            if held is None or (scope in reach and held in reach
                                and reach.index(scope) > reach.index(held)):
                scopes[g.object_type] = scope
        return cls(role.name, role.description,
                   {f"{g.object_type}.{g.action}" for g in role.grants}, scopes,
                   set(role.member_fields), role.mask_phone)

    @classmethod
    def posted(cls, form: Any) -> RoleForm:
        """The form as posted (`form` is the request's multidict: `grant` and
        `member_fields` repeat)."""
        return cls(str(form.get("name", "")).strip(), str(form.get("description", "")),
                   {str(v) for v in form.getall("grant", [])},
                   {str(k).removeprefix("scope_"): str(v) for k, v in form.items()
                    if str(k).startswith("scope_")},
                   {str(v) for v in form.getall("member_fields", [])},
                   form.get("mask_phone") == "1", str(form.get("request_id", "")))

    def request(self) -> roles_pb2.UpsertRoleRequest:
        grants = []
        for ticked in sorted(self.grants):
            object_type, _, action = ticked.partition(".")
            grants.append(roles_pb2.Grant(object_type=object_type, action=action,
                                          scope=self.scopes.get(object_type, "")))
        return roles_pb2.UpsertRoleRequest(request_id=self.request_id, role=roles_pb2.Role(
            name=self.name, description=self.description, grants=grants,
            member_fields=sorted(self.member_fields), mask_phone=self.mask_phone))


def field_errors(error: DomainError) -> dict[str, list[str]]:
    """A refusal's violations by the form field they are about ("role.grants[0].action" ->
    "grants"); a refusal naming no field goes under "role"."""
    found: dict[str, list[str]] = {}
    for v in error.violations:
        head = str(v.field).removeprefix("role.").split(".")[0].split("[")[0] or "role"
        found.setdefault(head, []).append(f"{v.field}: {v.description}")
    if not found:
        found["role"] = [error.message]
    return found


REFUSALS = (ErrorKind.INVALID_ARGUMENT, ErrorKind.FAILED_PRECONDITION)


class RolePages:
    """The handlers; `add_routes` puts them on the console's application (before the
    generic list routes, which would take /lists/roles)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/lists/roles", self.listing)
        router.add_post("/lists/roles", self.upsert)
        router.add_post("/lists/roles/{name}/delete", self.delete)

    async def listing(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        return await self._show(request, who)

    async def _show(self, request: web.Request, who: Principal, status: int = 200,
                    form: RoleForm | None = None, errors: dict[str, list[str]] | None = None,
                    delete_error: tuple[str, str] | None = None) -> web.StreamResponse:
        def context(answer: Message, rows: list[dict[str, str]]) -> dict[str, Any]:
            assert isinstance(answer, roles_pb2.ListRolesResponse)
            shown = form
            if shown is None:
                editing = request.query.get("edit", "")
                shown = next((RoleForm.of(r) for r in answer.roles if r.name == editing),
                             RoleForm())
            return {"rows": [{**row, "grants": short(role)} for row, role in
                             zip(rows, answer.roles, strict=True)],
                    "role_form": shown, "role_errors": errors or {},
                    "delete_error": delete_error, "catalogue": catalogue(),
                    "scopes": [s.value for s in reversed(Scope)],
                    "profile_fields": PROFILE_FIELDS,
                    "can_upsert": self.door.allowed_rpc(who, R + "UpsertRole"),
                    "can_delete": self.door.allowed_rpc(who, R + "DeleteRole")}

        return await self.console.operation_pages.show(request, who, "roles", status, context)

    async def upsert(self, request: web.Request) -> web.StreamResponse:
        """Create or replace a role (UpsertRole) from the form."""
        who = await self.console.signed_in(request)
        form = RoleForm.posted(await request.post())
        try:
            await self.door.call(who, R + "UpsertRole", form.request(),
                                 roles_pb2.UpsertRoleResponse)
        except DomainError as error:
            if error.kind not in REFUSALS:
                raise
            return await self._show(request, who, _status(error), form, field_errors(error))
        raise web.HTTPSeeOther(f"{BACK}?edit={form.name}")

    async def delete(self, request: web.Request) -> web.StreamResponse:
        """Delete a role (DeleteRole); a refusal shows at its row."""
        who = await self.console.signed_in(request)
        name = request.match_info["name"]
        try:
            form = await self.console.form(request)
            await self.door.call(who, R + "DeleteRole", roles_pb2.DeleteRoleRequest(
                request_id=form.get("request_id", ""), name=name), roles_pb2.DeleteRoleResponse)
        except DomainError as error:
            if error.kind not in REFUSALS:
                raise
            return await self._show(request, who, _status(error),
                                    delete_error=(name, error.message))
        raise web.HTTPSeeOther(BACK)


def _status(error: DomainError) -> int:
    return 400 if error.kind is ErrorKind.INVALID_ARGUMENT else 409
