"""The outbox dispatcher: claims due items, delivers them, records every outcome.

It runs as one asyncio task per server process; several processes (or hosts) share the
table safely because claiming uses FOR UPDATE SKIP LOCKED plus a lease. A send never
runs inside a database transaction, so a slow provider holds no locks or connections.
Delivery is at least once: a process that dies mid-send leaves the lease to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from server.events.consumers import EventConsumers
from server.outbox.model import (
    ClaimedEvent,
    ClaimedMessage,
    GateVerdict,
    OutboxStore,
    SendGate,
)
from server.outbox.policy import Decision, RetryPolicy, Verdict
from server.plugin_contracts import DomainEvent, MessageChannel, SendResult, SendStatus

log = logging.getLogger("kopilka.outbox")

#: What time it is for scheduling claims, leases and retries.
Clock = Callable[[], dt.datetime]


class _Failure(Protocol):
    @property
    def plugin(self) -> str: ...

    @property
    def error(self) -> BaseException: ...


class DeliveryHost(Protocol):
    """What the dispatcher needs from the plugin host (server.plugin_host.PluginHost)."""

    def message_channels(self) -> Mapping[str, MessageChannel]: ...

    def emit_event(self, event: DomainEvent) -> Sequence[_Failure]: ...


class OutboxDispatcher:
    """Delivers outbox items in batches; `wake()` after a commit skips the poll wait.

    `clock` None (the server) schedules by the database's clock, which every process
    shares; a test passes its own to say when retries and leases fall due, not to wait.
    """

    def __init__(
        self, store: OutboxStore, host: DeliveryHost, policy: RetryPolicy, *,
        batch_size: int = 20, poll_seconds: float = 1.0, lease_seconds: float = 120.0,
        clock: Clock | None = None, consumers: EventConsumers | None = None,
        gate: SendGate | None = None,
    ) -> None:
        self.store = store
        # In-process consumers (server.events.consumers), after the plugins' hook.
        self.consumers = consumers if consumers is not None else EventConsumers()
        self.gate = gate
        self.clock = clock
        self.host = host
        self.policy = policy
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Look for work now (call after committing an enqueue)."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the batch in hand (up to `grace` seconds), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many items were handled. Messages
        whose first hop did not deliver in time are queued on their fallback first."""
        await self.store.start_due_fallbacks(self._now())
        items = await self.store.claim_due(self.batch_size, self.lease_seconds, self._now())
        events = [item for item in items if isinstance(item, ClaimedEvent)]
        messages = [item for item in items if isinstance(item, ClaimedMessage)]
        if items:
            await asyncio.gather(*(self._deliver(item) for item in messages),
                                 self._emit_all(events))
        return len(items)

    def _now(self) -> dt.datetime | None:
        return None if self.clock is None else self.clock()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                handled = await self.run_once()
            except Exception:  # the database may be down: keep the loop alive
                log.exception("outbox pass failed")
                handled = 0
            if handled >= self.batch_size or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _deliver(self, item: ClaimedMessage) -> None:
        try:
            await self._send(item)
        except Exception:  # recording failed; the lease expires and the item comes back
            log.exception("outbox item %s could not be settled", item.item_id)

    async def _send(self, item: ClaimedMessage) -> None:
        if self.gate is not None:  # decided now, in the member's time, not when queued
            verdict = await self.gate.check(item, self._now() or dt.datetime.now(dt.UTC))
            if verdict.verdict is GateVerdict.DEFER and verdict.until is not None:
                await self.store.defer_message(item, verdict.until, verdict.reason)
                return
            if verdict.verdict is GateVerdict.DROP:
                await self.store.settle_message(
                    item, SendResult(SendStatus.REJECTED, error=verdict.reason),
                    Decision(Verdict.FAILED), self._now())
                return
        channel = self.host.message_channels().get(item.message.channel)
        if channel is None:
            result = SendResult(SendStatus.RETRY_LATER,
                                error=f"channel {item.message.channel!r} is not configured")
        else:
            try:
                result = await channel.send(item.message)
            except Exception as exc:  # a channel must not raise, but a bug must not lose mail
                log.exception("channel %s raised", channel.name)
                result = SendResult(SendStatus.RETRY_LATER, error=repr(exc))
        decision = self.policy.after_send(result.status, item.attempt)
        if decision.verdict is not Verdict.DONE:
            log.warning("message %s attempt %d: %s (%s)", item.mailing_id, item.attempt,
                        decision.verdict, result.error)
        await self.store.settle_message(item, result, decision, self._now())

    async def _emit_all(self, items: Sequence[ClaimedEvent]) -> None:
        """The batch's events: each to the plugins' hook, then to each consumer that wants
        some of them in one transaction per consumer (server/events/consumers.py); the
        delivered ones settled in one statement, a failed one retried on its own."""
        if not items:
            return
        errors = {item.item_id: [f"{f.plugin}: {f.error!r}"
                                 for f in self.host.emit_event(item.event)] for item in items}
        for consumer in self.consumers:
            wanted = [item for item in items if consumer.wants(item.event.type)]
            if not wanted:
                continue
            try:  # the store skips the events this consumer handled already
                failed = await self.store.consume_events(
                    [item.event for item in wanted], consumer.name, consumer.handle,
                    getattr(consumer, "handle_many", None))
            except Exception as exc:  # isolate consumers; the events come back for this one
                log.exception("consumer %s failed on %d events", consumer.name, len(wanted))
                failed = {item.event.event_id: exc for item in wanted}
            for item in wanted:
                error = failed.get(item.event.event_id)
                if error is not None:
                    log.error("consumer %s failed on event %s", consumer.name,
                              item.event.type, exc_info=error)
                    errors[item.item_id].append(f"{consumer.name}: {error!r}")
        delivered = [item for item in items if not errors[item.item_id]]
        try:
            if delivered:
                await self.store.settle_events(delivered)
        except Exception:  # recording failed; the leases expire and the events come back
            log.exception("%d outbox events could not be settled", len(delivered))
        for item in items:
            if errors[item.item_id]:
                try:
                    await self.store.settle_event(item, "; ".join(errors[item.item_id]),
                                                  self.policy.after_failure(item.attempt),
                                                  self._now())
                except Exception:  # the lease expires and the event comes back
                    log.exception("outbox item %s could not be settled", item.item_id)
