"""What the certificate service needs from storage (server/db/certificates/repo.py is SQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol

from server.certificates.model import (
    CertificateInfo,
    CertificateState,
    CertificateTypeInfo,
    EntryInfo,
    EntryKind,
    NewCertificate,
)
from server.events.schema import NewEvent


class CertificateRepository(Protocol):
    """Reads and writes inside the caller's transaction; entries are only ever appended."""

    async def certificate_type(self, code: str) -> CertificateTypeInfo | None: ...

    async def list_types(self) -> list[CertificateTypeInfo]: ...

    async def upsert_type(self, t: CertificateTypeInfo) -> None: ...

    async def type_in_use(self, code: str) -> bool: ...

    async def other_prefixes(self, code: str) -> list[tuple[str, str]]:
        """(owner, prefix) of every other number series: certificate and card types."""
        ...

    async def store_exists(self, code: str) -> bool: ...

    async def take_sequences(self, type_code: str, count: int) -> int:
        """Reserve `count` consecutive sequence numbers of the type; returns the first."""
        ...

    async def add_certificates(
        self, t: CertificateTypeInfo, new: list[NewCertificate], batch_id: uuid.UUID,
        principal: str, now: dt.datetime,
    ) -> list[CertificateInfo]:
        """Insert certificates; active ones get their ISSUE (or REISSUE_IN) entry."""
        ...

    async def certificate(self, number: str, *, for_update: bool = False
                          ) -> CertificateInfo | None: ...

    async def entries(self, certificate_id: int) -> list[EntryInfo]: ...

    async def emit(self, event: NewEvent) -> None:
        """Write a domain event in this transaction (delivered after it commits)."""

    async def change(
        self, cert: CertificateInfo, *, state: CertificateState, entry: EntryKind,
        amount_minor: int, now: dt.datetime, principal: str, note: str = "",
        store_code: str | None = None, receipt_id: uuid.UUID | None = None,
        **columns: object,
    ) -> CertificateInfo:
        """Move a locked certificate to `state`, add `amount_minor` to its balance, set
        other columns, and append the matching entry (naming the receipt that paid or was
        refunded, if any); returns the certificate after."""
        ...
