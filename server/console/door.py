"""The console's way into the application: the same servicer code, checks and audit as gRPC.

A console action is the RPC the servicer already answers, called in-process: the permission
the RPC needs (RPC_PERMISSIONS) is checked against the signed-in user's roles with the same
RoleBook, the request passes the same edge limits (server/api/edge.py), and the user runs as
the principal, so the audit rows, idempotency claims, field views, VIP rule and manual-money
caps are exactly those of the gRPC door. Nothing here repeats a rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from google.protobuf.message import Message

from server.access.model import User
from server.api.deps import ApiDeps
from server.api.edge import check_request
from server.audit.actor import request_id
from server.auth.permissions import RPC_PERMISSIONS, Permission
from server.auth.principal import Principal, PrincipalKind, current_principal
from server.auth.roles import Access
from server.errors import DomainError, ErrorKind

R = TypeVar("R", bound=Message)


def user_principal(user: User) -> Principal:
    """A signed-in user as a principal: the user's id stands for a key id (caps, four eyes
    and idempotency are per user), the label names the user in the audit."""
    return Principal(key_id=user.id, name=user.email, kind=PrincipalKind.OPERATOR,
                     roles=tuple(user.roles))


def denied(principal: Principal, needed: Permission) -> DomainError:
    return DomainError(ErrorKind.PERMISSION_DENIED, "PERMISSION_DENIED",
                       f"{principal.label} lacks permission {needed}",
                       metadata={"permission": str(needed)})


class Door:
    """Calls servicer methods as a principal; see the module docstring."""

    def __init__(self, deps: ApiDeps, servicers: Mapping[str, object]) -> None:
        self.deps = deps
        self._servicers = dict(servicers)  # full service name -> servicer instance

    def access(self, principal: Principal) -> Access:
        return self.deps.roles.access(principal)

    def allows(self, principal: Principal, needed: Permission) -> bool:
        return self.deps.roles.allows(principal, needed)

    def require(self, principal: Principal, needed: Permission) -> None:
        """PERMISSION_DENIED unless the principal's roles give `needed` (console reads that
        no RPC answers check the permission of the RPC closest to them)."""
        if not self.allows(principal, needed):
            raise denied(principal, needed)

    def allowed_rpc(self, principal: Principal, method: str) -> bool:
        needed = RPC_PERMISSIONS.get(method)
        return needed is not None and self.allows(principal, needed)

    @contextmanager
    def acting(self, principal: Principal) -> Iterator[None]:
        """Run an application service that is not an RPC yet (the accrual rules) as the
        principal, so its audit rows name the user."""
        token = current_principal.set(principal)
        try:
            yield
        finally:
            current_principal.reset(token)

    async def call(self, principal: Principal, method: str, request: Message,
                   response_type: type[R]) -> R:
        """`method` ("/kopilka.v1.MemberService/GetMember") as `principal` would over gRPC."""
        needed = RPC_PERMISSIONS.get(method)
        if needed is None or not self.allows(principal, needed):
            raise denied(principal, needed or Permission.ECHO)
        check_request(request)
        _, service, name = method.split("/", 2)
        behaviour: Callable[[Message, Any], Awaitable[Message]] = getattr(
            self._servicers[service], name)
        token = current_principal.set(principal)
        rid = request_id.set(str(getattr(request, "request_id", "")))
        try:
            answer = await behaviour(request, None)
        finally:
            request_id.reset(rid)
            current_principal.reset(token)
        assert isinstance(answer, response_type)
        return answer
