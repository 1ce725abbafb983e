"""Limits on manual money: reason codes, per-role daily caps, four eyes above a threshold.

AdjustPoints and TopUpCashAccount name a reason code from REASON_CODES (the free text stays
as a note). Each key may change at most its roles' daily cap per UTC day (its pending and
applied requests count; rejected ones do not), and a change above the threshold is stored
pending until another key approves it (server/api/servicers/adjustments.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.errors import DomainError, ErrorKind


class ReasonCode(StrEnum):
    """Why points or money are changed by hand."""

    GOODWILL = "goodwill"
    CORRECTION = "correction"
    PROMOTION = "promotion"
    MIGRATION = "migration"
    DEPOSIT = "deposit"


class ManualKind(StrEnum):
    """What a manual change moves; the value is also the cap's key in settings."""

    POINTS = "points"
    CASH = "cash"

    @property
    def cap_key(self) -> str:
        return "points" if self is ManualKind.POINTS else "cash_minor"


class AdjustmentState(StrEnum):
    """Pending until approved (applied) or rejected; applied at once below the threshold."""

    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


def needs_approval(amount: int, threshold: int) -> bool:
    """Above the threshold (by absolute value) a second principal must approve; 0 = never."""
    return threshold > 0 and abs(amount) > threshold


def daily_cap(roles: Iterable[str], kind: ManualKind,
              caps: Mapping[str, Mapping[str, int]]) -> int | None:
    """The largest cap among the roles; None (no cap) if any role has none for `kind`."""
    found: list[int] = []
    for role in roles:
        cap = caps.get(role, {}).get(kind.cap_key)
        if cap is None:
            return None
        found.append(cap)
    return max(found) if found else None


def check_cap(kind: ManualKind, amount: int, used: int, cap: int | None) -> None:
    """DAILY_CAP_EXCEEDED if `amount` on top of today's `used` would pass the cap."""
    if cap is not None and used + abs(amount) > cap:
        raise DomainError(
            ErrorKind.RESOURCE_EXHAUSTED, "DAILY_CAP_EXCEEDED",
            f"this key may change at most {cap} {kind.cap_key} by hand per day; "
            f"{used} used today", metadata={"kind": kind.value, "cap": str(cap),
                                             "used": str(used)})


def day_start(now: dt.datetime) -> dt.datetime:
    """Midnight UTC of `now`'s day: caps reset then."""
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def not_pending(state: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "ADJUSTMENT_NOT_PENDING",
                       f"the adjustment is {state} already", metadata={"state": state})


def by_requester() -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "APPROVAL_BY_REQUESTER",
                       "the key that asked for this change cannot decide on it; "
                       "another principal must approve or reject it")


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A stored manual change request."""

    id: uuid.UUID
    kind: ManualKind
    card_number: str
    member_id: uuid.UUID
    amount: int
    reason_code: ReasonCode
    note: str
    state: AdjustmentState
    requested_by: str
    requested_key: uuid.UUID
    created_at: dt.datetime
    decided_by: str | None = None
    tx_id: uuid.UUID | None = None

    def audit_view(self) -> dict[str, object]:
        """What the audit trail records of it (no member data beyond the ids)."""
        return {"kind": self.kind.value, "card_number": self.card_number,
                "member_id": str(self.member_id), "amount": self.amount,
                "reason_code": self.reason_code.value, "note": self.note,
                "state": self.state.value, "requested_by": self.requested_by,
                "decided_by": self.decided_by,
                "tx_id": str(self.tx_id) if self.tx_id else None}
