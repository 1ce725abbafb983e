"""Coupon codes: the check character catches every single mistyped character, codes are
normalized, and the use rules refuse in their documented order."""

from __future__ import annotations

import datetime as dt
import uuid

from server.engagement.coupons import (
    ALPHABET,
    Coupon,
    check_codes,
    new_code,
    normalize,
    refusal,
    well_formed,
)

NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def test_every_single_substitution_is_caught() -> None:
    for _ in range(50):
        code = new_code("SPR")
        assert well_formed(code) and code.startswith("SPR") and len(code) == 14
        for i, original in enumerate(code):
            for other in ALPHABET:
                if other != original:
                    assert not well_formed(code[:i] + other + code[i + 1:]), (code, i, other)


def test_codes_are_normalized_and_unique_enough() -> None:
    code = new_code()
    assert normalize(f" {code[:4].lower()}-{code[4:8]}_{code[8:]} ") == code
    assert len({new_code() for _ in range(10_000)}) == 10_000
    assert not well_formed("O0" + code) and not well_formed("")


def coupon(**fields: object) -> Coupon:
    base: dict[str, object] = dict(id=uuid.uuid4(), code=new_code(), promotion_id="p",
                                   max_uses=1, uses=0, valid_from=NOW - dt.timedelta(days=1),
                                   valid_to=None, member_id=None, state="active")
    base.update(fields)
    return Coupon(**base)  # type: ignore[arg-type]


def test_refusals_in_order() -> None:
    member = uuid.uuid4()
    assert refusal(None, member, NOW) == "COUPON_NOT_FOUND"
    assert refusal(coupon(state="blocked", uses=1), member, NOW) == "COUPON_BLOCKED"
    assert refusal(coupon(valid_from=NOW + dt.timedelta(seconds=1)), member,
                   NOW) == "COUPON_NOT_YET_VALID"
    assert refusal(coupon(valid_to=NOW), member, NOW) == "COUPON_EXPIRED"  # exclusive end
    assert refusal(coupon(uses=1), member, NOW) == "COUPON_USED_UP"
    assert refusal(coupon(member_id=uuid.uuid4()), member, NOW) == "COUPON_OTHER_MEMBER"
    assert refusal(coupon(member_id=member), member, NOW) is None
    good = coupon()
    checks = check_codes([good.code, good.code, "X"], {good.code: good}, None, NOW)
    assert [(c.code, c.reason) for c in checks] == [(good.code, None),
                                                    ("X", "COUPON_CODE_INVALID")]
