"""A campaign's or trigger's coupon offer (server/marketing/coupons.py): checks naming each
field, the stored JSON round trip, validity from the issue, and {{ coupon }} in templates."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from server.errors import DomainError
from server.marketing.coupons import CouponOffer, check_fits, check_offer, offer_of, sample_code

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def fields(error: DomainError) -> list[str]:
    return [v.field for v in error.violations]


def test_a_good_offer_is_normalized_and_round_trips_through_its_json() -> None:
    offer = check_offer(" spring ", 0, 14, None, "sp-r", "coupon", NOW)
    assert offer == CouponOffer("spring", 1, 14, None, "SPR")
    assert offer_of(offer.as_json()) == offer
    assert offer_of(json.dumps(offer.as_json())) == offer  # asyncpg hands jsonb as text
    assert offer.validity(NOW) == (NOW, NOW + dt.timedelta(days=14))
    until = NOW + dt.timedelta(days=2)
    fixed = check_offer("spring", 3, 0, until, "", "coupon", NOW)
    assert offer_of(fixed.as_json()) == fixed and fixed.validity(NOW) == (NOW, until)
    assert CouponOffer("spring").validity(NOW) == (NOW, None)
    assert offer_of(None) is None
    assert len(sample_code(offer)) == len("SPR") + 11


def test_each_bad_field_is_named_at_once() -> None:
    with pytest.raises(DomainError) as bad:
        check_offer("", -1, 9999, None, "OIL", "trigger.coupon", NOW)
    assert fields(bad.value) == ["trigger.coupon.promotion_id", "trigger.coupon.max_uses",
                                 "trigger.coupon.valid_days", "trigger.coupon.prefix"]
    with pytest.raises(DomainError) as both:
        check_offer("spring", 1, 3, NOW + dt.timedelta(days=1), "", "coupon", NOW)
    assert fields(both.value) == ["coupon.valid_to_time"]
    with pytest.raises(DomainError) as past:
        check_offer("spring", 1, 0, NOW, "", "coupon", NOW)
    assert fields(past.value) == ["coupon.valid_to_time"]


def test_a_template_showing_the_coupon_needs_one() -> None:
    texts = {"uk": ("Для {{ first_name }}", "Код {{ coupon }}"), "en": (None, "Hi")}
    check_fits(texts, CouponOffer("spring"), "coupon")
    check_fits({"uk": (None, "No code")}, None, "coupon")
    with pytest.raises(DomainError) as bad:
        check_fits(texts, None, "coupon")
    assert (bad.value.reason, fields(bad.value)) == ("TEMPLATE_INVALID", ["coupon"])
    with pytest.raises(DomainError):  # in a subject too
        check_fits({"uk": ("{% if coupon %}{{ coupon }}{% endif %}", "x")}, None, "coupon")
