"""Logs never carry personal data: a call that fails inside PostgreSQL with a member's phone,
e-mail, names and birth date in its statement is logged with a traceback that names the
failure (SQLSTATE, constraint, the SQL text) but none of those values (issue 11). Real
server, real database, the generated client; the log is the server's own handler."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import asyncpg
import grpc
import pytest
from kopilka.v1 import members_pb2 as M

from server.logs import server_handler
from tests.helpers import rpc_error

PERSONAL = {"phone": "+380931112233", "email": "oksana.zhyvotko@example.com",
            "first_name": "Oksana", "last_name": "Zhyvotko", "middle_name": "Bohdanivna",
            "birth_date": "1979-11-23"}
# how the values may appear once normalized or quoted
NEEDLES = ["931112233", "oksana.zhyvotko", "Oksana", "Zhyvotko", "Bohdanivna", "1979-11-23",
           "1979, 11, 23"]


@pytest.fixture
def server_log() -> Iterator[dict[str, io.StringIO]]:
    """What the server writes to its log, in both formats, through its own handler."""
    streams = {"json": io.StringIO(), "text": io.StringIO()}
    handlers = [server_handler(stream, fmt) for fmt, stream in streams.items()]
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)


async def test_a_failing_insert_logs_no_personal_data(
        admin, database_url, server_log) -> None:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(database_url)
    try:  # every new member row now fails inside PostgreSQL, DETAIL quoting the whole row
        await conn.execute("ALTER TABLE members ADD CONSTRAINT refuse_for_test CHECK (false) "
                           "NOT VALID")
    finally:
        await conn.close()

    with rpc_error() as failure:
        await admin.members.RegisterMember(M.RegisterMemberRequest(
            request_id=str(uuid.uuid4()), profile=M.MemberProfile(**PERSONAL),
            channel=M.REGISTRATION_CHANNEL_OPERATOR))
    assert failure.code == grpc.StatusCode.INTERNAL

    for fmt, stream in server_log.items():
        text = stream.getvalue()
        assert "unhandled error" in text, fmt
        # the traceback still says what failed ...
        assert "refuse_for_test" in text and "23514" in text and "INSERT INTO members" in text
        # ... and nothing about whom
        leaked = [needle for needle in NEEDLES if needle in text]
        assert leaked == [], f"{fmt} log carries {leaked}:\n{text}"
