"""SQL implementation of server.auth.role_service.RoleRepository, and the role loader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.grants import Binding
from server.auth.roles import RawGrant, Role, parse_role
from server.db.access.models import OperatorUser
from server.db.models import ApiKey
from server.db.roles.models import RoleRow

# pg_advisory_xact_lock key of role changes ("kopilka roles" as digits)
_LOCK = 0x6B6F_726F_6C65


def _grants(role: Role) -> list[dict[str, Any]]:
    return sorted(({"object_type": g.object_type.value, "action": g.action.value,
                    "scope": g.scope.value} for g in role.grants),
                  key=lambda g: (g["object_type"], g["action"], g["scope"]))


def _role(row: RoleRow) -> Role:
    grants = [RawGrant(g["object_type"], g["action"], g.get("scope", "")) for g in row.grants]
    return parse_role(row.name, grants, row.member_fields, row.mask_phone, row.description)


async def load_roles(session: AsyncSession) -> list[Role]:
    """Every stored role."""
    rows = (await session.scalars(select(RoleRow).order_by(RoleRow.name))).all()
    return [_role(row) for row in rows]


class SqlRoleRepository:
    """Roles over one AsyncSession (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> None:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})

    async def roles(self) -> list[Role]:
        return await load_roles(self.session)

    async def save(self, role: Role, changed_by: str) -> None:
        values = {"description": role.description, "grants": _grants(role),
                  "member_fields": sorted(role.view.fields),
                  "mask_phone": role.view.mask_phone, "updated_by": changed_by,
                  "updated_at": func.now()}
        await self.session.execute(
            insert(RoleRow).values(name=role.name, **values)
            .on_conflict_do_update(index_elements=[RoleRow.name], set_=values))

    async def delete(self, name: str) -> None:
        await self.session.execute(delete(RoleRow).where(RoleRow.name == name))

    async def live_holders(self) -> list[tuple[tuple[str, ...], Binding]]:
        rows = await self.session.execute(
            select(ApiKey.roles, ApiKey.store_code, ApiKey.network_code)
            .where(ApiKey.revoked_at.is_(None)).distinct())
        users = await self.session.scalars(
            select(OperatorUser.roles).where(OperatorUser.disabled_at.is_(None)).distinct())
        return [*((tuple(roles), Binding.STORE if store else
                   Binding.NETWORK if network else Binding.ALL)
                  for roles, store, network in rows),
                *((tuple(roles), Binding.ALL) for roles in users)]

    async def holding(self, name: str) -> tuple[int, int]:
        keys = await self.session.scalar(
            select(func.count()).select_from(ApiKey)
            .where(ApiKey.revoked_at.is_(None), ApiKey.roles.contains([name])))
        users = await self.session.scalar(
            select(func.count()).select_from(OperatorUser)
            .where(OperatorUser.disabled_at.is_(None), OperatorUser.roles.contains([name])))
        return int(keys or 0), int(users or 0)


async def role_stamps(session: AsyncSession) -> dict[str, tuple[dt.datetime, str]]:
    """When and by whom each role was last changed."""
    rows = await session.execute(select(RoleRow.name, RoleRow.updated_at, RoleRow.updated_by))
    return {name: (at, by) for name, at, by in rows}
