"""The fast result builders make exactly the objects the dataclass constructors make."""

from __future__ import annotations

import dataclasses

import pytest

from server.pricing.build import new_discount, new_priced_line, new_receipt_line, new_result
from server.pricing.model import Discount, PricedLine, PricingResult, ReceiptLine


def _same(built: object, constructed: object) -> None:
    assert type(built) is type(constructed)
    assert built == constructed and hash(built) == hash(constructed)
    assert repr(built) == repr(constructed)
    for f in dataclasses.fields(constructed):  # type: ignore[arg-type]
        assert getattr(built, f.name) == getattr(constructed, f.name)


def test_builders_equal_the_constructors_and_stay_frozen() -> None:
    discount = new_discount("r1", "Rule one", 123, "1% off SKU milk")
    _same(discount, Discount("r1", "Rule one", 123, "1% off SKU milk"))
    line = new_priced_line(3, "milk", 1500, 2999, 4499, (discount,), 4376)
    _same(line, PricedLine(3, "milk", 1500, 2999, 4499, (discount,), 4376))
    assert line.discount_amount == 123
    _same(new_receipt_line(2, "kefir", 1000, 3100), ReceiptLine(2, "kefir", 1000, 3100))
    values = dict(
        lines=(line,),
        subtotal=4499,
        discount_total=123,
        total=4376,
        points_to_accrue=43,
        max_points_redeemable=2188,
        bonus_discount=0,
        messages=("hi",),
        rule_set_version="abc",
        rules_evaluated=2,
        applied_promotions=("p",),
        hints=(),
    )
    _same(new_result(**values), PricingResult(**values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        discount.amount = 1  # type: ignore[misc]


def test_result_builder_rejects_missing_or_unknown_fields() -> None:
    with pytest.raises(TypeError):
        new_result(lines=())
