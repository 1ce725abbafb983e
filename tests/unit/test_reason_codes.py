"""Discount reason codes: every engine code is a DiscountReason value and back."""

from __future__ import annotations

from kopilka.v1 import receipts_pb2

from server.api.servicers.calculate import REASON_PB
from server.pricing.benefits import REASON_CODES


def test_every_reason_code_is_one_enum_value_and_every_value_a_code() -> None:
    assert sorted(REASON_PB) == sorted(REASON_CODES)
    assert len(set(REASON_PB.values())) == len(REASON_CODES)
    named = {v.number for v in receipts_pb2.DiscountReason.DESCRIPTOR.values if v.number}
    assert set(REASON_PB.values()) == named
