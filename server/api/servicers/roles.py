"""RoleService: roles as data over gRPC (server/auth/role_service.py does the work)."""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import roles_pb2, roles_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import run_once
from server.auth import role_service
from server.auth.roles import RawGrant, Role, parse_role
from server.db.audit.repo import Change, record
from server.db.database import Database
from server.db.roles.repo import SqlRoleRepository, role_stamps
from server.errors import invalid
from server.features import roles as roles_feature

SERVICE = "/kopilka.v1.RoleService/"


def role_to_pb(role: Role, stamp: tuple[dt.datetime, str] | None = None) -> roles_pb2.Role:
    grants = sorted(role.grants, key=lambda g: (g.object_type, g.action, g.scope))
    at, by = stamp if stamp is not None else (None, "")
    return roles_pb2.Role(
        name=role.name, description=role.description,
        grants=[roles_pb2.Grant(object_type=g.object_type.value, action=g.action.value,
                                scope=g.scope.value) for g in grants],
        member_fields=sorted(role.view.fields), mask_phone=role.view.mask_phone,
        update_time=timestamp(at), updated_by=by)


def role_from_pb(pb: roles_pb2.Role) -> Role:
    return parse_role(pb.name, [RawGrant(g.object_type, g.action, g.scope) for g in pb.grants],
                      pb.member_fields, pb.mask_phone, pb.description)


def upsert_change(role: Role) -> Change:
    """The audit row of a role created or replaced (the RPC, `kopilka roles apply`)."""
    return Change("role", role.name, "upsert", None, {
        "grants": sorted(f"{g.object_type}.{g.action}@{g.scope}" for g in role.grants),
        "member_fields": sorted(role.view.fields), "mask_phone": role.view.mask_phone})


async def delete_role_once(
    db: Database, request: roles_pb2.DeleteRoleRequest, principal_id: uuid.UUID | None = None,
) -> roles_pb2.DeleteRoleResponse:
    """The one role-deletion path (the RPC, `kopilka roles delete`): idempotent on the
    request id (a retry gets the first answer, not ROLE_NOT_FOUND), audited."""
    if not request.name:
        raise invalid("name", "required")

    async def work(session: AsyncSession) -> roles_pb2.DeleteRoleResponse:
        await role_service.delete_role(SqlRoleRepository(session), request.name)
        await record(session, Change("role", request.name, "delete"))
        return roles_pb2.DeleteRoleResponse()

    return await run_once(db, SERVICE + "DeleteRole", request, roles_pb2.DeleteRoleResponse,
                          work, principal_id=principal_id)


class RoleServicer(roles_pb2_grpc.RoleServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def ListRoles(
        self, request: roles_pb2.ListRolesRequest, context: Context
    ) -> roles_pb2.ListRolesResponse:
        async with self.deps.db.transaction() as session:
            repo = SqlRoleRepository(session)
            roles = await repo.roles()
            stamps = await role_stamps(session)
        return roles_pb2.ListRolesResponse(
            roles=[role_to_pb(role, stamps.get(role.name)) for role in roles])

    async def UpsertRole(
        self, request: roles_pb2.UpsertRoleRequest, context: Context
    ) -> roles_pb2.UpsertRoleResponse:
        if not request.HasField("role"):
            raise invalid("role", "required")
        role = role_from_pb(request.role)

        async def work(session: AsyncSession) -> roles_pb2.UpsertRoleResponse:
            await role_service.upsert_role(SqlRoleRepository(session), role, caller().label)
            await record(session, upsert_change(role))
            stamp = (await role_stamps(session)).get(role.name)
            return roles_pb2.UpsertRoleResponse(role=role_to_pb(role, stamp))

        answer = await run_once(self.deps.db, SERVICE + "UpsertRole", request,
                                roles_pb2.UpsertRoleResponse, work)
        await roles_feature.refresh(self.deps.db, self.deps.roles)
        return answer

    async def DeleteRole(
        self, request: roles_pb2.DeleteRoleRequest, context: Context
    ) -> roles_pb2.DeleteRoleResponse:
        answer = await delete_role_once(self.deps.db, request)
        await roles_feature.refresh(self.deps.db, self.deps.roles)
        return answer
