"""Signed tokens: calculations and verification tokens cannot be forged or reused elsewhere."""

from __future__ import annotations

import datetime as dt

import pytest

from server.errors import DomainError
from server.receipts.calculation import (
    CalculatedLine,
    Calculation,
    decode_calculation,
    encode_calculation,
)
from server.security.signing import Signer
from server.verification.tokens import check_verification_token, issue_verification_token

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
SIGNER = Signer(b"k" * 32)


def calculation(**changes: object) -> Calculation:
    lines = (
        CalculatedLine(1, "milk-01", 2000, 4550, 9100, 910, 0, 8190, 410),
        CalculatedLine(2, "bread-01", 1000, 2500, 2500, 0, 500, 2000, 100),
    )
    fields: dict[str, object] = dict(
        calculation_id="c1", store_code="kyiv-01", terminal_id="till-1", currency="UAH",
        receipt_time=NOW, rule_set_version="v1", lines=lines, subtotal_minor=11600,
        discount_total_minor=1410, total_minor=10190, points_to_accrue=510, points_redeemed=500,
        created_at=NOW, card_number="2900000000018",
    )
    fields.update(changes)
    return Calculation(**fields)  # type: ignore[arg-type]


def test_calculation_round_trips_and_rejects_tampering() -> None:
    token = encode_calculation(SIGNER, calculation())
    assert decode_calculation(SIGNER, token, NOW) == calculation()
    body, mac = token.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    with pytest.raises(DomainError) as error:
        decode_calculation(SIGNER, forged, NOW)
    assert error.value.reason == "TOKEN_INVALID"
    with pytest.raises(DomainError):
        decode_calculation(Signer(b"x" * 32), token, NOW)
    with pytest.raises(DomainError) as error:
        decode_calculation(SIGNER, token, NOW + dt.timedelta(days=2))
    assert error.value.reason == "CALCULATION_EXPIRED"


def test_calculation_that_does_not_add_up_is_never_signed() -> None:
    with pytest.raises(ValueError, match="subtotal - discounts"):
        encode_calculation(SIGNER, calculation(discount_total_minor=1400))


def test_verification_token_binds_card_and_time() -> None:
    token, expires = issue_verification_token(SIGNER, "2900000000018", NOW)
    check_verification_token(SIGNER, token, "2900000000018", NOW)
    with pytest.raises(DomainError) as error:
        check_verification_token(SIGNER, token, "2900000000025", NOW)
    assert error.value.reason == "VERIFICATION_CARD_MISMATCH"
    with pytest.raises(DomainError) as error:
        check_verification_token(SIGNER, token, "2900000000018", expires)
    assert error.value.reason == "VERIFICATION_EXPIRED"
    with pytest.raises(DomainError) as error:
        check_verification_token(SIGNER, "", "2900000000018", NOW)
    assert error.value.reason == "VERIFICATION_REQUIRED"
    with pytest.raises(DomainError):  # a calculation token is not a verification token
        check_verification_token(SIGNER, encode_calculation(SIGNER, calculation()),
                                 "2900000000018", NOW)
