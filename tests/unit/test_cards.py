"""Card numbers and the card state machine."""

from __future__ import annotations

import pytest

from server.members.cards import (
    CardState,
    can_transition,
    card_number,
    ean13_check_digit,
    is_valid_ean13,
    validate_number_prefix,
)
from server.members.contacts import mask_phone, normalize_email, normalize_phone


def test_ean13_check_digit_matches_known_barcodes() -> None:
    assert ean13_check_digit("400638133393") == "1"  # 4006381333931, a textbook EAN-13
    assert ean13_check_digit("482000000001") == "7"  # 4*1 + 8*3 + 2*1 + 1*3 = 33 -> 7
    assert is_valid_ean13("4006381333931")
    assert not is_valid_ean13("4006381333932")


def test_card_number_pads_sequence_and_appends_check_digit() -> None:
    assert card_number("2900", 1) == "2900000000018"
    # 2 + 9*3 + 1 + 2*3 + 3 + 4*3 = 51 -> check digit 9
    assert card_number("29", 1234) == "2900000012349"
    with pytest.raises(ValueError):
        card_number("2900", 10**8)
    assert validate_number_prefix("2900") is None
    assert validate_number_prefix("4820") is not None
    assert validate_number_prefix("2") is not None


def test_closed_and_completed_are_final_blocked_comes_back() -> None:
    assert can_transition(CardState.BLOCKED, CardState.ACTIVE)
    assert can_transition(CardState.NEW, CardState.ACTIVE)
    assert not can_transition(CardState.NEW, CardState.COMPLETED)
    for final in (CardState.CLOSED, CardState.COMPLETED):
        assert not any(can_transition(final, other) for other in CardState)


def test_contacts_normalize_to_one_spelling() -> None:
    for spelling in ("067 123 45 67", "+38 (067) 123-45-67", "380671234567", "0671234567"):
        assert normalize_phone(spelling, "UA") == "+380671234567"
    with pytest.raises(ValueError):
        normalize_phone("12345", "UA")
    assert normalize_email(" A.B@Example.COM ") == "a.b@example.com"
    with pytest.raises(ValueError):
        normalize_email("a@b")
    assert mask_phone("+380671234567") == "+38067***4567"
