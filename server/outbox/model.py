"""Items the dispatcher claims from the outbox and the outcomes it records."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.outbox.policy import Decision
from server.plugin_contracts import DeliveryReport, DomainEvent, OutgoingMessage, SendResult


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message whose `attempt`-th delivery this dispatcher now owns (under a lease)."""

    item_id: int
    attempt: int
    mailing_id: uuid.UUID
    message: OutgoingMessage


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """A domain event whose `attempt`-th delivery this dispatcher now owns."""

    item_id: int
    attempt: int
    event: DomainEvent


Claimed = ClaimedMessage | ClaimedEvent


class GateVerdict(enum.StrEnum):
    """What the send gate says about a message at the moment it would be sent."""

    SEND = "send"
    DEFER = "defer"  # not now (quiet hours, cap, paused): due again at `until`
    DROP = "drop"  # never (consent withdrawn, campaign cancelled): recorded as failed


@dataclass(frozen=True, slots=True)
class GateDecision:
    verdict: GateVerdict
    until: dt.datetime | None = None
    reason: str = ""


class SendGate(Protocol):
    """Decides, right before a send, whether a message may go now (marketing pacing)."""

    async def check(self, item: ClaimedMessage, now: dt.datetime) -> GateDecision:
        """SEND, DEFER until a time, or DROP with a reason."""


class OutboxStore(Protocol):
    """Storage side of the outbox; each method is its own short transaction."""

    async def claim_due(self, limit: int, lease_seconds: float,
                        now: dt.datetime | None = None) -> list[Claimed]:
        """Lock rows due at `now` (SKIP LOCKED), count the attempt, lease them, commit.

        `now` None is the database's clock, which every process shares."""

    async def settle_message(
        self, item: ClaimedMessage, result: SendResult, decision: Decision,
        now: dt.datetime | None = None,
    ) -> None:
        """Record the attempt in the outbox and the mailing history; a retry is due
        `decision.delay_seconds` after `now` (None: the database's clock)."""

    async def settle_event(self, item: ClaimedEvent, error: str | None,
                           decision: Decision, now: dt.datetime | None = None) -> None:
        """Record the attempt of an event delivery (a retry as in `settle_message`)."""

    async def settle_events(self, items: Sequence[ClaimedEvent]) -> int:
        """Record the events as delivered, in one transaction (those another claim took
        over meanwhile are left to it); how many were settled."""

    async def consume_events(
        self, events: Sequence[DomainEvent], consumer: str,
        handle: Callable[[DomainEvent, Any], Awaitable[None]],
        handle_many: Callable[[Sequence[DomainEvent], Any], Awaitable[None]] | None = None,
    ) -> dict[str, BaseException]:
        """Run `handle(event, tx)` for each event `consumer` has not handled yet, with the
        record that it did, all in ONE transaction: each event's record and handling
        commit together or not at all (a raise rolls back that event's only). With
        `handle_many` the fresh events go to it in one call; if it raises, they go to
        `handle` one by one, each in a savepoint of its own. The events whose handling
        raised (their record rolled back, the others kept), by event id."""

    async def start_due_fallbacks(self, now: dt.datetime | None = None,
                                  limit: int = 100) -> int:
        """Queue the fallback hop of messages not delivered within their lifetime."""

    async def defer_message(self, item: ClaimedMessage, until: dt.datetime,
                            reason: str) -> None:
        """Put a claimed message back, due at `until`, without counting the attempt."""

    async def record_delivery(self, report: DeliveryReport) -> bool:
        """Log a receipt and update the mailing it belongs to; False if none (yet)."""
