"""CalculateReceipt's lines are walked once: the servicer's pass enforces the edge's limits
with the edge's very paths and texts, and the edge still names them beside other faults."""

from __future__ import annotations

import pytest
from kopilka.v1 import receipts_pb2

from server.accounts.accrual import compile_rules
from server.api import edge
from server.api.servicers.calculate import LINE_FIELDS, _lines
from server.errors import DomainError, Violations
from server.features.pricing import EMPTY_RULES, PricingSnapshot
from server.limits import MAX_AMOUNT
from server.pricing.model import Catalog

R = receipts_pb2
SNAP = PricingSnapshot(EMPTY_RULES, None, Catalog({}), {}, (), compile_rules(), None)


def full_walk(request: R.CalculateReceiptRequest) -> list[tuple[str, str]]:
    errors = Violations()
    edge._message(errors, request, "")  # the walk as it was: lines included
    return [(x.field, x.description) for x in errors.items]


def faults(**line: object) -> R.CalculateReceiptRequest:
    good = {"line_no": 1, "sku": "A", "quantity_milli": 1000, "unit_price_minor": 100}
    return R.CalculateReceiptRequest(store_code="S1", lines=[good, {**good, **line}])


def test_the_servicer_pass_covers_every_line_field() -> None:
    assert {f.name for f in R.ReceiptLine.DESCRIPTOR.fields} == LINE_FIELDS


@pytest.mark.parametrize("line", [
    {"sku": "a\x00b"}, {"sku": "x" * 5000}, {"barcode": "\x00" * 3000},
    {"quantity_milli": MAX_AMOUNT + 1}, {"unit_price_minor": -MAX_AMOUNT - 1},
    {"sku": "\x00", "barcode": "y" * 999, "quantity_milli": -MAX_AMOUNT - 5},
])
def test_line_limits_are_the_edges(line: dict[str, object]) -> None:
    request = faults(**line)
    expected = full_walk(request)
    assert expected
    edge.check_request(request)  # the edge leaves them to the servicer ...
    with pytest.raises(DomainError) as error:  # ... which names them exactly so
        _lines(request, SNAP)
    assert [(x.field, x.description) for x in error.value.violations] == expected


def test_too_many_lines_is_the_edges_refusal() -> None:
    request = R.CalculateReceiptRequest(lines=[{"line_no": i + 1} for i in range(1001)])
    with pytest.raises(DomainError) as error:
        _lines(request, SNAP)
    assert [(x.field, x.description) for x in error.value.violations] == full_walk(request)


def test_with_another_bad_field_the_edge_names_the_lines_too() -> None:
    request = faults(sku="a\x00")
    request.store_code = "s\x00"
    with pytest.raises(DomainError) as error:
        edge.check_request(request)
    assert [(x.field, x.description) for x in error.value.violations] == full_walk(request)
    assert {x.field for x in error.value.violations} == {"store_code", "lines[1].sku"}
