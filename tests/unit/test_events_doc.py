"""docs/events.md describes exactly the event types, versions and fields of SCHEMAS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.events.schema import SCHEMAS, EventSchema, FieldSpec, new_event, register_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def documented() -> dict[tuple[str, int], list[tuple[str, str]]]:
    found: dict[tuple[str, int], list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for row in DOC.read_text().splitlines():
        if heading := re.match(r"^### `([a-z_.]+)` \(version (\d+)\)$", row):
            current = found.setdefault((heading[1], int(heading[2])), [])
        elif row.startswith("## "):
            current = None
        elif current is not None and (field := re.match(r"^\| `(\w+)` \| ([a-z ]+) \|", row)):
            current.append((field[1], field[2].strip()))
    return found


def test_every_event_is_documented_with_its_fields() -> None:
    expected = {(s.type, s.version): [(f.name, f.kind + (" or null" if f.optional else ""))
                                      for f in s.fields] for s in SCHEMAS.values()}
    assert documented() == expected


def test_payloads_are_checked_against_the_schema() -> None:
    import uuid

    member = uuid.uuid4()
    event = new_event("card.blocked", card_number="2900", member_id=member, card_type="s",
                      reason="lost")
    assert event.payload["member_id"] == str(member) and event.version == 1
    with pytest.raises(ValueError, match="missing field reason"):
        new_event("card.blocked", card_number="2900", member_id=None, card_type="s")
    with pytest.raises(ValueError, match="unknown fields"):
        new_event("card.blocked", card_number="2900", member_id=None, card_type="s",
                  reason="x", phone="+380")
    with pytest.raises(ValueError, match="is not a int"):
        new_event("points.expiring", member_id=member, points="5",
                  expiry_date="2026-01-01", expiry_time="2026-01-01T00:00:00+00:00")
    with pytest.raises(ValueError, match="unknown event type"):
        new_event("order.placed")


def test_new_types_register_but_never_go_back_a_version() -> None:
    schema = EventSchema("order.testing", 2, "test", "a test", (FieldSpec("id", "string", "x"),))
    try:
        register_schema(schema)
        with pytest.raises(ValueError, match="version 2"):
            register_schema(EventSchema("order.testing", 1, "test", "a test", ()))
        with pytest.raises(ValueError, match="unknown kind"):
            register_schema(EventSchema("order.other", 1, "t", "t",
                                        (FieldSpec("x", "float", "no"),)))
    finally:
        SCHEMAS.pop("order.testing", None)
