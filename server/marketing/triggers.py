"""Triggers: on event X (condition) send template Y on channel Z after delay D.

A firing is idempotent per trigger and event (a redelivered event fires nothing new) and
capped per member and occurrence: "year" (one birthday greeting a year), "day", "event", or
"payload:<key>" (e.g. at most N reminders for one basket). Events in `stop_events` stop the
member's unsent messages of the trigger (a purchase stops the basket reminders).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from server.errors import invalid
from server.events.schema import SCHEMAS
from server.marketing.coupons import CouponOffer
from server.marketing.model import check_channel, check_code
from server.marketing.pacing import zone
from server.marketing.segments import parse_segment
from server.plugin_contracts import DomainEvent

MAX_DELAY = 90 * 86400


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    code: str
    event_type: str
    condition: str | None
    template_code: str
    channel: str
    delay_seconds: int
    occurrence: str
    max_per_occurrence: int
    stop_events: tuple[str, ...]
    active: bool
    coupon: CouponOffer | None = None


def check_trigger(code: str, event_type: str, condition: str, template_code: str,
                  channel: str, delay_seconds: int, occurrence: str, max_per_occurrence: int,
                  stop_events: list[str], active: bool, coupon: CouponOffer | None = None
                  ) -> TriggerSpec:
    check_code(code, "trigger.code")
    if event_type not in SCHEMAS:
        raise invalid("trigger.event_type", "an event type of docs/events.md, e.g. "
                      "basket.abandoned")
    if condition:
        parse_segment(condition, "trigger.condition")
    check_channel(channel, "trigger.channel")
    if not 0 <= delay_seconds <= MAX_DELAY:
        raise invalid("trigger.delay_seconds", f"0 to {MAX_DELAY}")
    if occurrence not in ("event", "year", "day") and not (
            occurrence.startswith("payload:") and len(occurrence) > 8):
        raise invalid("trigger.occurrence", "event, year, day or payload:<key>")
    if not 1 <= max_per_occurrence <= 100:
        raise invalid("trigger.max_per_occurrence", "1 to 100")
    for i, stop in enumerate(stop_events):
        if stop not in SCHEMAS:
            raise invalid(f"trigger.stop_events[{i}]", "an event type of docs/events.md")
    if coupon is not None and event_type == "coupon.issued":
        raise invalid("trigger.coupon", "not on coupon.issued: each coupon would issue another")
    return TriggerSpec(code, event_type, condition or None, template_code, channel,
                       delay_seconds, occurrence, max_per_occurrence, tuple(stop_events),
                       active, coupon)


def occurrence_key(occurrence: str, event: DomainEvent, time_zone: str) -> str | None:
    """Which occurrence an event belongs to (None: the payload lacks the key)."""
    local = event.occurred_at.astimezone(zone(time_zone, "UTC"))
    if occurrence == "year":
        return f"{local.year}"
    if occurrence == "day":
        return local.date().isoformat()
    if occurrence == "event":
        return event.event_id
    value = event.payload.get(occurrence.removeprefix("payload:"))
    return None if value is None else str(value)[:128]


def send_at(event: DomainEvent, delay_seconds: int) -> dt.datetime:
    return event.occurred_at + dt.timedelta(seconds=delay_seconds)
