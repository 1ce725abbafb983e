"""Changing roles: the one path for RoleService and `kopilka roles`, with its guards.

Two refusals keep the program manageable, checked inside the transaction that would write
(under a lock, so two concurrent changes cannot each pass alone):

- LAST_ADMIN_LOCKOUT: after the change some live key or enabled console user must still
  hold update on roles and on keys (server.auth.roles.ADMIN_RIGHTS), if one did before; with
  no such holder yet (a fresh install managed from the CLI) some role must still grant both.
- ROLE_IN_USE: a role that live keys or enabled console users hold is not deleted; take it
  off them first (a user keeping the name of a deleted role would hold nothing by it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from server.auth.grants import Binding
from server.auth.roles import ADMIN_RIGHTS, Role, access_of
from server.errors import DomainError, ErrorKind, not_found


class RoleRepository(Protocol):
    """Role storage within one transaction."""

    async def lock(self) -> None:
        """Serialize role changes until the transaction ends."""

    async def roles(self) -> list[Role]: ...

    async def save(self, role: Role, changed_by: str) -> None: ...

    async def delete(self, name: str) -> None: ...

    async def live_holders(self) -> list[tuple[tuple[str, ...], Binding]]:
        """(roles, binding) of every live key and enabled console user (users are bound to
        no store), one entry per distinct combination."""

    async def holding(self, name: str) -> tuple[int, int]:
        """How many live keys and enabled console users hold the role."""


def _admins(roles: Mapping[str, Role], keys: list[tuple[tuple[str, ...], Binding]]) -> int:
    return sum(1 for names, binding in keys
               if access_of(roles, names, binding).rights >= ADMIN_RIGHTS)


def _check_admin_left(before: Mapping[str, Role], after: Mapping[str, Role],
                      keys: list[tuple[tuple[str, ...], Binding]]) -> None:
    if _admins(before, keys):
        if _admins(after, keys):
            return
        what = "no live key or console user would keep"
    elif any(role.rights(Binding.ALL) >= ADMIN_RIGHTS for role in after.values()):
        return
    else:
        what = "no role would grant"
    raise DomainError(
        ErrorKind.FAILED_PRECONDITION, "LAST_ADMIN_LOCKOUT",
        f"refused: {what} update on roles and on keys, so nobody could change them again")


async def upsert_role(repo: RoleRepository, role: Role, changed_by: str) -> Role:
    """Create or replace `role` (validated by server.auth.roles.parse_role)."""
    await repo.lock()
    before = {r.name: r for r in await repo.roles()}
    after = {**before, role.name: role}
    _check_admin_left(before, after, await repo.live_holders())
    await repo.save(role, changed_by)
    return role


async def delete_role(repo: RoleRepository, name: str) -> None:
    """Delete an unused role."""
    await repo.lock()
    before = {r.name: r for r in await repo.roles()}
    if name not in before:
        raise not_found("role", name, "ROLE_NOT_FOUND")
    keys, users = await repo.holding(name)
    if keys or users:
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION, "ROLE_IN_USE",
            f"role {name!r} is held by {keys} live key(s) and {users} console user(s); "
            "take it off them first", metadata={"keys": str(keys), "users": str(users)})
    after = {n: r for n, r in before.items() if n != name}
    _check_admin_left(before, after, await repo.live_holders())
    await repo.delete(name)
