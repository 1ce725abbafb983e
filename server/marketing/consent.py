"""Recording consent: one path for the RPC, the unsubscribe link and the STOP reply."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from server.errors import invalid, not_found
from server.marketing.model import check_channel, check_purpose

T = TypeVar("T")
STOP_WORDS = frozenset({"stop", "стоп", "unsubscribe", "відписатися"})


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    member_id: uuid.UUID
    channel: str
    purpose: str
    granted: bool
    source: str
    wording_version: str


class ConsentStore(Protocol):
    """What recording consent needs from storage (server/db/marketing/repo.py functions)."""

    def member_exists(self, member_id: uuid.UUID) -> Awaitable[bool]: ...

    def record(self, answer: ConsentAnswer, principal: str) -> Awaitable[object]: ...


def answer(member_id: uuid.UUID, channel: str, purpose: str, granted: bool, source: str,
           wording_version: str, prefix: str = "consent") -> ConsentAnswer:
    check_channel(channel, f"{prefix}.channel")
    check_purpose(purpose, f"{prefix}.purpose")
    if not source.strip():
        raise invalid(f"{prefix}.source", "required: where the answer came from")
    if not wording_version.strip():
        raise invalid(f"{prefix}.wording_version", "required: the wording the member saw")
    return ConsentAnswer(member_id, channel, purpose, granted, source.strip(),
                         wording_version.strip())


async def record(store: ConsentStore, given: ConsentAnswer, principal: str) -> object:
    if not await store.member_exists(given.member_id):
        raise not_found("member", str(given.member_id), "MEMBER_NOT_FOUND")
    return await store.record(given, principal)


def is_stop(text: str) -> bool:
    """An incoming SMS asking to stop marketing ("STOP", "стоп", ...)."""
    return text.strip().strip(".!").lower() in STOP_WORDS
