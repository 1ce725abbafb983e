"""Who a change is recorded for, and the request it came with.

An RPC's actor is its authenticated principal (ApiInterceptor sets it, with the request's
`request_id`); the CLI and the scheduled jobs name themselves with `acting(...)`. The audit
writer reads `current_actor()` so no call site passes the caller around.
"""

from __future__ import annotations

import contextvars
import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from server.auth.principal import current_principal


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal label and key id written on an audit row (no key: CLI, jobs)."""

    label: str
    key_id: uuid.UUID | None = None


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor",
                                                                      default=None)
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("audit_request_id",
                                                                 default="")

SYSTEM = Actor("system")


def current_actor() -> Actor:
    """The explicit actor if one is set, else the RPC's principal, else "system"."""
    explicit = _actor.get()
    if explicit is not None:
        return explicit
    principal = current_principal.get()
    if principal is not None:
        return Actor(principal.label, principal.key_id)
    return SYSTEM


@contextmanager
def acting(actor: Actor, with_request_id: str = "") -> Iterator[Actor]:
    """Record changes made inside the block for `actor` (CLI commands, jobs), and with the
    request id of the change when the door made one (a CLI command running an RPC's path)."""
    token = _actor.set(actor)
    rid = request_id.set(with_request_id) if with_request_id else None
    try:
        yield actor
    finally:
        if rid is not None:
            request_id.reset(rid)
        _actor.reset(token)


def cli_actor() -> Actor:
    """The operating-system user running a `kopilka` command."""
    return Actor(f"cli:{getpass.getuser()}")


JOBS = Actor("job:scheduler")
