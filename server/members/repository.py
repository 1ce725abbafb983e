"""What the members domain needs from storage; server/db implements it over SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from server.events.schema import NewEvent
from server.members.cards import CardState
from server.members.model import (
    CardInfo,
    CardTypeInfo,
    MemberInfo,
    Profile,
    PurchaseInfo,
    RegistrationChannel,
)


class MemberRepository(Protocol):
    """Storage of members and cards inside one open transaction."""

    async def add_member(
        self, member_id: uuid.UUID, profile: Profile, channel: RegistrationChannel
    ) -> None: ...

    async def member(self, member_id: uuid.UUID) -> MemberInfo | None: ...

    async def member_id_by_contact(
        self, *, phone: str | None = None, email: str | None = None
    ) -> uuid.UUID | None: ...

    async def update_member(self, member_id: uuid.UUID, changes: dict[str, object]) -> None: ...

    async def add_contact_change(
        self, member_id: uuid.UUID, field: str, old: str | None, new: str | None, source: str,
        principal: str,
    ) -> None: ...

    async def card_type(self, code: str) -> CardTypeInfo | None: ...

    async def take_card_sequence(self, card_type: str) -> int: ...

    async def add_card(
        self, number: str, card_type: str, member_id: uuid.UUID | None, state: CardState,
        replaces_number: str | None,
    ) -> None: ...

    async def card(self, number: str, *, for_update: bool = False) -> CardInfo | None: ...

    async def set_card_state(
        self, number: str, old: CardState | None, new: CardState, reason: str, principal: str
    ) -> None: ...

    async def emit(self, event: NewEvent) -> None:
        """Write a domain event in this transaction (delivered after it commits)."""

    async def purchases(
        self, member_id: uuid.UUID, before: tuple[dt.datetime, uuid.UUID] | None, limit: int,
        stores: frozenset[str] | None = None,
    ) -> list[PurchaseInfo]: ...
