"""In-process consumers of domain events (marketing triggers and the like).

The outbox dispatcher gives each committed event first to the plugins' ``kopilka_on_event``
hook, then to every registered consumer that `wants` its type. Each consumer handles an
event at most once: the store runs `handle` inside a transaction that also records
(event id, consumer name), so a redelivery (a plugin failed, a lease expired) skips the
consumers that are done, and a consumer whose `handle` raises leaves no trace and gets the
event again with the next attempt. Work a consumer queues through the transaction it is
handed (an AsyncSession for the SQL outbox: `enqueue_message`, its own tables) commits
together with that record, so it happens exactly once.

The dispatcher hands a consumer the events of a claimed batch in one transaction (one
savepoint per event, so one that raises rolls back alone). A consumer may also define
`handle_many(events, tx)`: the batch's fresh events in one call (one query for all of them
instead of one per event). If it raises, each event goes to `handle` in a savepoint of its
own, so it must leave the same rows as calling `handle` on each event in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from server.plugin_contracts import DomainEvent

_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


@runtime_checkable
class EventConsumer(Protocol):
    """Something in the server that reacts to events; `name` is stable (it keys the record)."""

    name: str

    def wants(self, event_type: str) -> bool:
        """Whether to hand it events of this type (cheap: called for every event)."""

    async def handle(self, event: DomainEvent, tx: Any) -> None:
        """React to `event` inside the store's transaction `tx`; raise to be retried."""


class EventConsumers:
    """The registry the dispatcher reads: consumers in registration order, unique names."""

    def __init__(self) -> None:
        self._consumers: dict[str, EventConsumer] = {}

    def register(self, consumer: EventConsumer) -> EventConsumer:
        if not _NAME.match(consumer.name):
            raise ValueError(f"consumer names are lower-case words, got {consumer.name!r}")
        if consumer.name in self._consumers:
            raise ValueError(f"an event consumer named {consumer.name!r} is registered already")
        self._consumers[consumer.name] = consumer
        return consumer

    def unregister(self, name: str) -> None:
        self._consumers.pop(name, None)

    def __iter__(self) -> Iterator[EventConsumer]:
        """The consumers in registration order (a copy: one may register meanwhile)."""
        return iter(list(self._consumers.values()))

    def for_event(self, event_type: str) -> Iterator[EventConsumer]:
        return (c for c in list(self._consumers.values()) if c.wants(event_type))

    def __len__(self) -> int:
        return len(self._consumers)
