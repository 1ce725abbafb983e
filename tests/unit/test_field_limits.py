"""server/limits.py against the schema and the contract: one place, and it agrees with both.

A limit that names a column must equal that column's declared length (so what passes the
edge can always be stored), and every string, bytes or repeated field of every request
of every service has a declared limit (so a new field cannot slip in unbounded).
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from sqlalchemy import String
from sqlalchemy.dialects.postgresql import ARRAY

import server.db.access.models
import server.db.appeals.models
import server.db.audit.models
import server.db.certificates.models
import server.db.engagement.models
import server.db.ledger.models
import server.db.marketing.models
import server.db.orders.models
import server.db.outbox.models
import server.db.pricing.models
import server.db.roles.models
import server.db.shopping.models
import server.db.surveys.models
import server.db.verification.models  # noqa: F401  (every table on Base.metadata)
from server.api.edge import PACKAGE, TIMESTAMP
from server.db.models import Base
from server.limits import BY_FIELD, BY_NAME, Limit, limit_of
from tests.contract import request_services


def _column_length(column: str) -> int | None:
    table, _, name = column.partition(".")
    kind = Base.metadata.tables[table].columns[name].type
    if isinstance(kind, ARRAY):
        kind = kind.item_type
    return kind.length if isinstance(kind, String) else None


def _declared() -> Iterator[tuple[str, Limit]]:
    yield from BY_NAME.items()
    yield from BY_FIELD.items()


def test_every_limit_with_a_column_matches_that_columns_length() -> None:
    wrong = [f"{where}: {limit.chars} but {limit.column} holds {_column_length(limit.column)}"
             for where, limit in _declared()
             if limit.column and _column_length(limit.column) != limit.chars]
    assert wrong == []


def _request_fields() -> Iterator[tuple[str, FieldDescriptor]]:
    seen: set[str] = set()

    def walk(message: Descriptor) -> Iterator[tuple[str, FieldDescriptor]]:
        if message.full_name in seen or message.full_name == TIMESTAMP:
            return
        seen.add(message.full_name)
        for fd in message.fields:
            yield message.full_name.removeprefix(PACKAGE), fd
            if fd.message_type is not None:
                yield from walk(fd.message_type)

    for service in request_services():
        for method in service.methods:
            yield from walk(method.input_type)


def test_every_string_bytes_and_repeated_request_field_has_a_declared_limit() -> None:
    missing = []
    for owner, fd in _request_fields():
        limit = limit_of(owner, fd.name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            needs_chars = False
        else:
            needs_chars = fd.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
        if needs_chars and not (limit and limit.chars):
            missing.append(f"{owner}.{fd.name}: length")
        if fd.is_repeated and not (limit and limit.items):
            missing.append(f"{owner}.{fd.name}: count")
    assert missing == []
    assert len(list(_request_fields())) > 150  # the walk really saw the contract


def test_the_known_bad_case_a_65_character_terminal_id_is_over_its_limit() -> None:
    limit = limit_of("CalculateReceiptRequest", "terminal_id")
    assert limit is not None and limit.chars == 64 == _column_length("receipts.terminal_id")
