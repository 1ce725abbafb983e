"""The marketing triggers' consumer of domain events, built from the app's dependencies.

Give it each committed DomainEvent, at least once (`await consumer.on_event(event)`): it
deduplicates per trigger and event, so redeliveries and concurrent workers queue nothing
twice. Wiring it to the event dispatch is the composition root's job.
"""

from __future__ import annotations

from server.api.deps import ApiDeps
from server.api.servicers.marketing import keys_of
from server.db.marketing.triggers import TriggerConsumer


def trigger_consumer(deps: ApiDeps) -> TriggerConsumer:
    return TriggerConsumer(deps.db, lambda: keys_of(deps), deps.settings.marketing_language,
                           deps.settings.marketing_time_zone)
