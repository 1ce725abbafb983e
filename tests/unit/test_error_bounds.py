"""Errors stay small whatever built them, and rule documents fail as documents.

gRPC refuses trailers over 8 KiB (the client then sees RESOURCE_EXHAUSTED, not the
reason), so server/api/status.py bounds every Status; the accrual rules (`kopilka
bonus-rules apply`) and rule sets read YAML through server/documents.py.
"""

from __future__ import annotations

import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.accounts.rules_loader import load_accrual_rules
from server.api.status import STATUS_BYTES, to_status
from server.errors import DomainError, ErrorKind, FieldViolation, Violations


def _status(error: DomainError) -> status_pb2.Status:
    for key, value in to_status(error).trailing_metadata:
        if key == rpc_status.GRPC_DETAILS_METADATA_KEY:
            return status_pb2.Status.FromString(value)
    raise AssertionError("no status details")


def test_many_long_multibyte_violations_fit_the_metadata_limit() -> None:
    error = DomainError(ErrorKind.INVALID_ARGUMENT, "INVALID_RULE_SET", "ї" * 10_000,
                        [FieldViolation(f"rules[{i}]." + "ж" * 300, "щ" * 1000)
                         for i in range(5000)], {"key": "я" * 5000})
    status = _status(error)
    assert status.ByteSize() <= STATUS_BYTES + 100 and len(status.message) <= 300
    bad = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad) and 1 <= len(bad.field_violations) <= 20
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info) and info.metadata["violation_count"] == "5000"


def test_violations_keep_the_first_twenty_and_count_the_rest() -> None:
    errors = Violations()
    for i in range(1000):
        errors.add(f"lines[{i}].sku", "required")
    with pytest.raises(DomainError) as raised:
        errors.raise_if_any()
    assert len(raised.value.violations) == 20
    assert raised.value.metadata == {"violation_count": "1000"}
    assert raised.value.message.endswith("; and 997 more")


@pytest.mark.parametrize("text", [
    "[" * 5000, "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 600)),
    "rules:\n  - id: a\n    from: 2024-13-01\n", "a: &a [1]\nb: [*a, *a]\n",
])
def test_deep_invalid_date_or_aliased_accrual_rules_are_invalid(text: str) -> None:
    with pytest.raises(DomainError) as raised:
        load_accrual_rules(text)
    assert raised.value.reason == "ACCRUAL_RULES_INVALID"
