"""Card numbers (EAN-13 in the in-store range) and the card state machine."""

from __future__ import annotations

from enum import StrEnum


class CardState(StrEnum):
    """Lifecycle of a card (seed 003: New, Active, Blocked, Closed, Completed)."""

    NEW = "new"
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"
    COMPLETED = "completed"


# Closed and completed are final; blocked can come back.
TRANSITIONS: dict[CardState, frozenset[CardState]] = {
    CardState.NEW: frozenset({CardState.ACTIVE, CardState.BLOCKED, CardState.CLOSED}),
    CardState.ACTIVE: frozenset({CardState.BLOCKED, CardState.CLOSED, CardState.COMPLETED}),
    CardState.BLOCKED: frozenset({CardState.ACTIVE, CardState.CLOSED}),
    CardState.CLOSED: frozenset(),
    CardState.COMPLETED: frozenset(),
}

STATES_NEEDING_REASON = frozenset({CardState.BLOCKED, CardState.CLOSED})


def can_transition(current: CardState, target: CardState) -> bool:
    """True when `current -> target` is an allowed move."""
    return target in TRANSITIONS[current]


def ean13_check_digit(first12: str) -> str:
    """The EAN-13 check digit of 12 digits (weights 1,3,1,3,... from the left)."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("need exactly 12 digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_ean13(number: str) -> bool:
    """True for 13 digits whose last one is the right check digit."""
    return len(number) == 13 and number.isdigit() and ean13_check_digit(number[:12]) == number[12]


def validate_number_prefix(prefix: str) -> str | None:
    """Why a card number prefix is unusable, or None. In-store EAN range is 20-29."""
    if not prefix.isdigit() or not 2 <= len(prefix) <= 6:
        return "must be 2 to 6 digits"
    if prefix[0] != "2":
        return "must start with 2 (EAN-13 in-store range 20-29)"
    return None


def card_number(prefix: str, sequence: int) -> str:
    """The card number for the `sequence`-th card of a type: prefix, zero-padded, check digit."""
    width = 12 - len(prefix)
    if sequence < 1 or sequence >= 10**width:
        raise ValueError(f"sequence {sequence} does not fit {width} digits after {prefix}")
    body = f"{prefix}{sequence:0{width}d}"
    return body + ean13_check_digit(body)
