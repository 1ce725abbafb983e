"""Roles as data: what a role grants, and the in-memory book the interceptor asks.

Roles live in the database (seeded with cashier, store_backend, operator, integrator and
admin by migration 0014) and are changed over RoleService or `kopilka roles`. Each worker
keeps them in a RoleBook, reloaded when they change (server/features/roles.py), so checking
a call's permission reads only memory: the first call of a key with a given set of roles
and binding computes its Access, later calls are one dictionary lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from server.auth.grants import Action, Binding, Grant, ObjectType, Right, Scope
from server.auth.permissions import NEEDS, Permission
from server.auth.principal import Principal
from server.errors import Violations
from server.members.model import PROFILE_FIELDS
from server.members.views import MemberView, combined

E = TypeVar("E", ObjectType, Action, Scope)

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # api_keys.roles holds varchar(32)
MAX_DESCRIPTION = 500

# The rights an administrator must keep somewhere: without them nobody can mend roles or keys.
ADMIN_RIGHTS: frozenset[Right] = frozenset({(ObjectType.ROLES, Action.UPDATE),
                                            (ObjectType.KEYS, Action.UPDATE)})


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of grants and the member view its holders get."""

    name: str
    grants: frozenset[Grant]
    view: MemberView = field(default_factory=lambda: MemberView(frozenset()))
    description: str = ""

    def rights(self, binding: Binding) -> frozenset[Right]:
        """The rights this role gives a key bound as `binding`."""
        return frozenset((g.object_type, g.action) for g in self.grants if g.counts_for(binding))


@dataclass(frozen=True, slots=True)
class RawGrant:
    """A grant as written by a caller (RPC or file), before validation."""

    object_type: str
    action: str
    scope: str = ""  # empty: all


def parse_role(name: str, grants: Iterable[RawGrant], member_fields: Iterable[str],
               mask_phone: bool, description: str = "", prefix: str = "role") -> Role:
    """A valid Role, or INVALID_ARGUMENT naming every bad field at once."""
    errors = Violations()
    if not ROLE_NAME.match(name):
        errors.add(f"{prefix}.name", "1-32 characters: lower-case letters, digits and _, "
                   "starting with a letter")
    if len(description) > MAX_DESCRIPTION:
        errors.add(f"{prefix}.description", f"longer than {MAX_DESCRIPTION} characters")
    parsed: set[Grant] = set()
    for i, raw in enumerate(grants):
        path = f"{prefix}.grants[{i}]"
        object_type = _choice(ObjectType, raw.object_type, f"{path}.object_type", errors)
        action = _choice(Action, raw.action, f"{path}.action", errors)
        scope = _choice(Scope, raw.scope or Scope.ALL.value, f"{path}.scope", errors)
        if object_type is not None and action is not None and scope is not None:
            parsed.add(Grant(object_type, action, scope))
    fields = list(dict.fromkeys(member_fields))
    for i, name_ in enumerate(fields):
        if name_ not in PROFILE_FIELDS:
            errors.add(f"{prefix}.member_fields[{i}]",
                       f"unknown member field {name_!r}; known: {', '.join(PROFILE_FIELDS)}")
    errors.raise_if_any()
    view = MemberView(frozenset(fields), mask_phone=mask_phone)  # vip: from the grants
    return Role(name, frozenset(parsed), view, description.strip())


def _choice(kind: type[E], value: str, path: str, errors: Violations) -> E | None:
    try:
        return kind(value)
    except ValueError:
        errors.add(path, f"unknown {kind.__name__} {value!r}; known: "
                   f"{', '.join(member.value for member in kind)}")
        return None


def binding_of(principal: Principal) -> Binding:
    """How widely the key is bound (server/auth/scope.py)."""
    if principal.store_code is not None:
        return Binding.STORE
    if principal.network_code is not None:
        return Binding.NETWORK
    return Binding.ALL


@dataclass(frozen=True, slots=True)
class Access:
    """What a key with some roles and binding may do, computed once per combination."""

    rights: frozenset[Right]
    permissions: frozenset[Permission]
    member_view: MemberView


def access_of(roles: Mapping[str, Role], names: Iterable[str], binding: Binding) -> Access:
    """The union of the named roles' grants that count for `binding`; unknown names grant
    nothing. VIP members are visible only with (vip_members, read) counting for the key."""
    held = [roles[name] for name in names if name in roles]
    rights = frozenset().union(*(role.rights(binding) for role in held))
    permissions = frozenset(p for p, right in NEEDS.items() if right is None or right in rights)
    view = combined(role.view for role in held)
    vip = (ObjectType.VIP_MEMBERS, Action.READ) in rights
    return Access(rights, permissions, MemberView(view.fields, view.mask_phone, vip))


class RoleBook:
    """The roles of the database as last loaded; see the module docstring."""

    def __init__(self, roles: Iterable[Role] = ()) -> None:
        self._roles: dict[str, Role] = {}
        self._access: dict[tuple[tuple[str, ...], Binding], Access] = {}
        self.install(roles)

    @property
    def roles(self) -> Mapping[str, Role]:
        return self._roles

    def install(self, roles: Iterable[Role]) -> bool:
        """Replace the roles; True when they differ from the ones held."""
        new = {role.name: role for role in roles}
        if new == self._roles:
            return False
        self._roles = new
        self._access = {}
        return True

    def access(self, principal: Principal) -> Access:
        key = (principal.roles, binding_of(principal))
        found = self._access.get(key)
        if found is None:
            found = self._access[key] = access_of(self._roles, *key)
        return found

    def allows(self, principal: Principal, needed: Permission) -> bool:
        return needed in self.access(principal).permissions

