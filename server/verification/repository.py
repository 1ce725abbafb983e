"""What the verification domain needs from storage; server/db implements it over SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from server.verification.model import RecentSends, Template, VerificationRecord


class VerificationRepository(Protocol):
    """Verifications, templates and the outbox inside one open transaction."""

    async def lock_send_keys(self, keys: list[str]) -> None:
        """Serialize concurrent sends for these keys (any worker) until commit."""

    async def recent_by_phone(self, phone: str, since: dt.datetime) -> RecentSends: ...

    async def recent_by_requester(self, requester: str, since: dt.datetime) -> RecentSends: ...

    async def template(self, name: str) -> Template | None: ...

    async def save_template(self, name: str, body: str, updated_by: str) -> Template: ...

    async def enqueue_sms(self, phone: str, text: str, redacted_text: str,
                          reference: str) -> uuid.UUID:
        """Queue the SMS in the outbox (same transaction); returns the mailing id."""

    async def add(self, record: VerificationRecord) -> None: ...

    async def get_for_update(self, verification_id: uuid.UUID) -> VerificationRecord | None: ...

    async def record_wrong_code(self, verification_id: uuid.UUID, attempts: int,
                                locked: bool) -> None: ...

    async def mark_verified(self, verification_id: uuid.UUID, at: dt.datetime) -> None: ...
