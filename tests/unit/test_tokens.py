"""Signed tokens: calculations and verification tokens cannot be forged or reused elsewhere."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.api.calculation_token import decode_calculation, encode_calculation
from server.errors import DomainError
from server.receipts.calculation import CalculatedLine, Calculation, encode_calculation_v1
from server.security.signing import Signer
from server.verification.model import Operation
from server.verification.tokens import (
    Caller,
    Grant,
    Spend,
    authorize,
    check_spend,
    issue_verification_token,
    read_verification_token,
)

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
    for at in (0, len(token) // 2, len(token) - 3):  # the version byte, the body, the MAC
        forged = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]
        with pytest.raises(DomainError) as error:
            decode_calculation(SIGNER, forged, NOW)
        assert error.value.reason == "TOKEN_INVALID"
    for junk in ("", "AAAA", "!!", token[:20]):
        with pytest.raises(DomainError) as error:
            decode_calculation(SIGNER, junk, NOW)
        assert error.value.reason == "TOKEN_INVALID"
    with pytest.raises(DomainError):
        decode_calculation(Signer(b"x" * 32), token, NOW)
    with pytest.raises(DomainError) as error:
        decode_calculation(SIGNER, token, NOW + dt.timedelta(days=2))
    assert error.value.reason == "CALCULATION_EXPIRED"


def test_calculation_token_is_binary_and_keeps_what_confirm_books() -> None:
    """Version 2: one base64url string, a third of version 1's size; every field that
    ConfirmReceipt books survives, lots and a member included; messages are not carried."""
    member = str(uuid.UUID(int=42))
    lots = ((300, "2026-11-23T14:00:00+02:00", None, "base"),
            (210, "2026-11-24T00:00:00+00:00", "2027-02-01T00:00:00+00:00", "x2"))
    full = calculation(calculation_id=str(uuid.UUID(int=9)), member_id=member,
                       card_type="gold", accrual_lots=lots, applied_promotions=("p1", "p2"),
                       line_discounts=((1, "milk-10", 610), (1, "p2", 300)),
                       messages=("a long message the terminal shows " * 5,),
                       receipt_time=NOW - dt.timedelta(microseconds=1))
    token = encode_calculation(SIGNER, full)
    assert "." not in token and token.startswith("A")  # base64 of the version byte 0x02
    back = decode_calculation(SIGNER, token, NOW)
    assert back.messages == ()
    assert back.accrual_lots == tuple(
        (p, dt.datetime.fromisoformat(a).astimezone(dt.UTC).isoformat(),
         dt.datetime.fromisoformat(e).isoformat() if e else None, r) for p, a, e, r in lots)
    assert dataclasses.replace(back, messages=full.messages, accrual_lots=lots) == full
    assert len(token) * 3 < len(encode_calculation_v1(SIGNER, full))
    anonymous = calculation(card_number=None, points_to_accrue=0,
                            lines=tuple(x._replace(accrual_points=0)
                                        for x in calculation().lines))
    assert decode_calculation(SIGNER, encode_calculation(SIGNER, anonymous), NOW) == anonymous


def test_version_1_tokens_in_flight_are_still_read() -> None:
    """Tokens issued before the upgrade (JSON) confirm for their 24 hours."""
    old = encode_calculation_v1(SIGNER, calculation())
    assert "." in old
    assert decode_calculation(SIGNER, old, NOW) == calculation()
    split = calculation(line_discounts=((1, "milk-10", 910),))
    assert decode_calculation(SIGNER, encode_calculation_v1(SIGNER, split), NOW) == split
    body, mac = old.split(".")
    with pytest.raises(DomainError) as error:
        decode_calculation(SIGNER, body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
                           + "." + mac, NOW)
    assert error.value.reason == "TOKEN_INVALID"


def test_calculation_that_does_not_add_up_is_never_signed() -> None:
    with pytest.raises(ValueError, match="subtotal - discounts"):
        encode_calculation(SIGNER, calculation(discount_total_minor=1400))


def _problems(calc: Calculation) -> str:
    """check_totals' definition, written plainly."""
    problems = []
    if sum(x.base_amount_minor for x in calc.lines) != calc.subtotal_minor:
        problems.append("line bases do not add up to the subtotal")
    if sum(x.final_amount_minor for x in calc.lines) != calc.total_minor:
        problems.append("line finals do not add up to the total")
    if calc.subtotal_minor - calc.discount_total_minor != calc.total_minor:
        problems.append("subtotal - discounts != total")
    for x in calc.lines:
        parts = x.discount_minor + x.points_discount_minor + x.final_amount_minor
        if parts != x.base_amount_minor or min(x.final_amount_minor, x.discount_minor,
                                               x.points_discount_minor) < 0:
            problems.append(f"line {x.line_no} does not add up")
    if sum(x.accrual_points for x in calc.lines) != calc.points_to_accrue:
        problems.append("line accruals do not add up to points_to_accrue")
    if calc.accrual_lots and sum(lot[0] for lot in calc.accrual_lots) != calc.points_to_accrue:
        problems.append("accrual lots do not add up to points_to_accrue")
    return "; ".join(problems)


VALUE = st.integers(-3, 12)


@given(st.lists(st.tuples(VALUE, VALUE, VALUE, VALUE, VALUE), max_size=4), VALUE, VALUE, VALUE,
       VALUE)
def test_check_totals_refuses_exactly_what_its_definition_does(
        values: list[tuple[int, int, int, int, int]], subtotal: int, discount: int, total: int,
        points: int) -> None:
    calc = calculation(
        lines=tuple(CalculatedLine(n, f"s{n}", 1000, base, base, off, paid, final, accrual)
                    for n, (base, off, paid, final, accrual) in enumerate(values, start=1)),
        subtotal_minor=subtotal, discount_total_minor=discount, total_minor=total,
        points_to_accrue=points)
    expected = _problems(calc)
    if expected:
        with pytest.raises(ValueError) as error:
            calc.check_totals()
        assert str(error.value) == expected
    else:
        calc.check_totals()


TILL = Caller("kyiv-01", "T1", "terminal:kyiv-01/T1")
GRANT = Grant(uuid.UUID(int=7), "2900000000018", Operation.REDEEM_POINTS, 500, TILL,
              NOW + dt.timedelta(minutes=5))


def spend(**changes: object) -> Spend:
    values: dict[str, object] = dict(card_number="2900000000018",
                                     operation=Operation.REDEEM_POINTS, amount=500, caller=TILL)
    values.update(changes)
    return Spend(**values)  # type: ignore[arg-type]


def test_verification_token_round_trips_its_grant() -> None:
    token = issue_verification_token(SIGNER, GRANT)
    assert read_verification_token(SIGNER, token) == GRANT
    assert authorize(SIGNER, token, spend(), NOW) == GRANT


@pytest.mark.parametrize(("changes", "reason"), [
    ({"card_number": "2900000000025"}, "VERIFICATION_CARD_MISMATCH"),
    ({"operation": Operation.CONFIRM_RECEIPT}, "VERIFICATION_OPERATION_MISMATCH"),
    ({"amount": 501}, "VERIFICATION_AMOUNT_EXCEEDED"),
    ({"caller": Caller("lviv-02", "T1", "terminal:lviv-02/T1")}, "VERIFICATION_STORE_MISMATCH"),
    ({"caller": Caller("kyiv-01", "T2", "terminal:kyiv-01/T2")},
     "VERIFICATION_TERMINAL_MISMATCH"),
    ({"caller": Caller("kyiv-01", "T1", "key:another")}, "VERIFICATION_TERMINAL_MISMATCH"),
])
def test_verification_token_refuses_a_spend_it_does_not_cover(changes, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as error:
        check_spend(GRANT, spend(**changes), NOW)
    assert error.value.reason == reason


def test_verification_token_expires_and_is_required() -> None:
    check_spend(GRANT, spend(amount=1), GRANT.expires_at - dt.timedelta(microseconds=1))
    with pytest.raises(DomainError) as error:
        check_spend(GRANT, spend(), GRANT.expires_at)
    assert error.value.reason == "VERIFICATION_EXPIRED"
    with pytest.raises(DomainError) as error:
        authorize(SIGNER, "", spend(), NOW)
    assert error.value.reason == "VERIFICATION_REQUIRED"
    with pytest.raises(DomainError) as error:  # a calculation token is not a verification token
        authorize(SIGNER, encode_calculation(SIGNER, calculation()), spend(), NOW)
    assert error.value.reason == "TOKEN_INVALID"
