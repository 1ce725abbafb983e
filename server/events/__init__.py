"""Domain events: the one place their names, versions and payload fields are defined.

A change others react to writes an event to the outbox in its own transaction
(`server.db.events.emit`, or the PL/pgSQL `kopilka_emit_event` for ConfirmReceipt); the
outbox dispatcher hands it to the plugins' ``kopilka_on_event`` hook and then to the
in-process consumers registered in `server.events.consumers`. docs/events.md describes every
event for people; `SCHEMAS` here is what the code checks.
"""

from server.events.schema import (
    SCHEMAS,
    EventSchema,
    FieldSpec,
    NewEvent,
    new_event,
    register_schema,
)

__all__ = ["SCHEMAS", "EventSchema", "FieldSpec", "NewEvent", "new_event", "register_schema"]
