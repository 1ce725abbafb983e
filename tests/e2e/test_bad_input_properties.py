"""Property: no request, however bad, gets INTERNAL or UNKNOWN, and a refused one changes
nothing in the database.

Requests are generated from the proto descriptors of every RPC of every service (a new RPC
is covered without touching this file) and sent through the generated client, with an
admin key, to a real server over a world with a store, a card, a product and a certificate
type, so plausible values reach the deep paths too. The nasty values the fuzz of issue 11
found are weighted in: NUL bytes, strings one past their column, integers near 2**63,
timestamps outside years 1-9999, forged page tokens, deeply nested and invalid-date rule
documents, a thousand bad lines, and raw bytes that are no protobuf (or bad UTF-8).

Budget: a fixed, derandomized number of examples per RPC (EXAMPLES; under a minute in all
on 2 cores).
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kopilka.v1 import admin_pb2, certificates_pb2, members_pb2

from tests.contract import request_services
from tests.helpers import rid, rpc_error

F = FieldDescriptor
EXAMPLES = int(os.environ.get("KOPILKA_FUZZ_EXAMPLES", "24"))  # more: a longer hunt
MAX_MESSAGE = 4 * 2**20  # gRPC's default limit on a received message
METHODS: list[MethodDescriptor] = [m for s in request_services() for m in s.methods]
STORE, CARD_TYPE, SKU, BARCODE, CERT_TYPE = "kyiv-01", "gold", "sku-1", "4820000000011", "gift"
UUID0 = "00000000-0000-0000-0000-000000000000"
INT64 = 2**63 - 1


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "x" * 13, "x" * 14, "x" * 33, "x" * 65, "x" * 129, "x" * 257,
    "x" * 5000, "🙂" * 40, "²", "٣٤٥", "9" * 30, "9223372036854775808", "-1", "0", UUID0,
    "2024-02-30", "0001-01-01", "abc\n", "+380671234567", "a@b.c",
    _token(f"9999-12-31T23:59:59-23:59|{UUID0}"), _token(f"0001-01-01T00:00:00+23:59|{UUID0}"),
    _token(f"2024-01-01T00:00:00|{UUID0}"), _token("x|y|z"),
]
DOCUMENTS = [
    "[" * 5000, "{\"a\":" * 3000 + "1" + "}" * 3000, "a:\n" + "".join(
        " " * i + "b:\n" for i in range(1, 400)), "- " * 3000 + "x",
    "rules:\n  - id: r\n    valid:\n      from: 2024-13-01\n",
    "name: x\nrules: []\nsettings: {time_zone: 2024-02-30}\n",
    "a: &a [1,2,3]\nb: [*a, *a, *a]\n", "{\"rules\": [{\"id\": \"\\u0000\"}]}",
]
INTS = [0, 1, -1, 2, 1000, 10**15, 10**15 + 1, -10**15 - 1, 2**31 - 1, -2**31, INT64,
        -INT64 - 1, INT64 // 1000 + 1]


class World:
    """Values the world knows, so generated requests get past 'not found' sometimes."""

    def __init__(self) -> None:
        self.card = ""
        self.member_id = ""
        self.certificate = ""

    def known(self) -> list[str]:
        return [STORE, CARD_TYPE, SKU, BARCODE, CERT_TYPE, "UAH", "till-1", self.card,
                self.member_id, self.certificate, str(uuid.uuid4())]


WORLD = World()
# The property is the server's own validation: each RPC runs on one PostgreSQL server.
pytestmark = pytest.mark.one_server


def _text(fd: FieldDescriptor) -> st.SearchStrategy[str]:
    known = st.sampled_from(WORLD.known()) if WORLD.card else st.just(STORE)
    choices = [known, st.sampled_from(NASTY_TEXT), st.text(max_size=12),
               st.integers(60, 70).map(lambda n: "x" * n)]
    if fd.name in ("document", "body", "template"):
        choices.append(st.sampled_from(DOCUMENTS))
    return st.one_of(*choices)


def _scalar(fd: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    kind = fd.type
    if kind == F.TYPE_STRING:
        return _text(fd)
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=16)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:
        assert fd.enum_type is not None
        return st.sampled_from([v.number for v in fd.enum_type.values] + [99, -1])
    if kind == F.TYPE_INT32:
        return st.one_of(st.sampled_from([0, 1, -1, 2, 3, 1000, 2**31 - 1, -2**31]),
                         st.integers(-2**31, 2**31 - 1))
    if kind in (F.TYPE_INT64, F.TYPE_SINT64):
        return st.one_of(st.sampled_from(INTS), st.integers(-INT64 - 1, INT64))
    if kind == F.TYPE_MESSAGE:
        assert fd.message_type is not None
        return message(fd.message_type, depth + 1)
    raise AssertionError(f"no strategy for {fd.full_name}")


def _timestamp() -> st.SearchStrategy[dict[str, Any]]:
    seconds = st.sampled_from([0, 1_767_225_600, -62_135_596_801, 253_402_300_800, 2**40,
                               -2**40, INT64])
    return st.fixed_dictionaries({"seconds": seconds, "nanos": st.sampled_from([0, 10**9, -1])})


def _plausible_text(name: str) -> str:
    return {
        "request_id": str(uuid.uuid4()), "card_number": WORLD.card, "card_numbers": WORLD.card,
        "store_code": STORE, "terminal_id": "till-1", "sku": SKU, "barcode": BARCODE,
        "barcodes": BARCODE, "currency": "UAH", "member_id": WORLD.member_id,
        "number": WORLD.certificate, "certificate_number": WORLD.certificate,
        "certificate_type": CERT_TYPE, "card_type": CARD_TYPE, "issue_card_type": CARD_TYPE,
        "phone": "+380671234599", "email": "a@example.com", "birth_date": "1990-05-01",
        "receipt_id": str(uuid.uuid4()), "time_zone": "Europe/Kyiv", "number_prefix": "2930",
        "roles": "cashier", "receipt_number": "R-1", "reason": "because",
        "document": "rules: []\n",
    }.get(name, "x1")


def plausible(fd: FieldDescriptor, depth: int) -> Any:
    """A value a well-behaved caller might send in `fd` (None: leave it unset)."""
    kind = fd.type
    if kind == F.TYPE_STRING:
        value: Any = _plausible_text(fd.name)
    elif kind == F.TYPE_BYTES:
        value = b"ping"
    elif kind == F.TYPE_BOOL:
        value = False
    elif kind == F.TYPE_ENUM:
        assert fd.enum_type is not None
        value = fd.enum_type.values[min(1, len(fd.enum_type.values) - 1)].number
    elif kind in (F.TYPE_INT32, F.TYPE_INT64, F.TYPE_SINT64):
        value = {"line_no": 1, "quantity_milli": 1000, "count": 1, "page_size": 2,
                 "valid_days": 30}.get(fd.name, 100)
    elif fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        return None
    elif fd.message_type is not None:
        if depth >= 3:
            return None
        if fd.message_type.full_name == "google.protobuf.Timestamp":
            value = {"seconds": 1_767_225_600, "nanos": 0}
        else:
            value = {f.name: v for f in fd.message_type.fields
                     if (v := plausible(f, depth + 1)) is not None}
    else:
        return None
    return [value] if fd.is_repeated else value


def _wild(fd: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        return st.dictionaries(st.sampled_from(["viber", "x" * 70, "\x00"]),
                               st.sampled_from(["1", "\x00", "y" * 300]), max_size=2)
    if not fd.is_repeated:
        return _scalar(fd, depth)
    element = _scalar(fd, depth)
    many = st.lists(element, max_size=3)
    # a thousand and one of one element, at the top only (the 4 MiB message limit)
    return st.one_of(many, element.map(lambda x: [x] * 1001)) if depth == 0 else many


def message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Field values of `descriptor` as a dict (a field left out stays unset): mostly what a
    good caller sends, with one field in four wild (nasty, random or left out)."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return _timestamp()
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for fd in descriptor.fields:
        if fd.message_type is not None and depth >= 3:
            continue
        good = plausible(fd, depth)
        wild = st.one_of(st.none(), _wild(fd, depth))
        fields[fd.name] = st.integers(0, 3).flatmap(
            lambda k, good=good, wild=wild: st.just(good) if k else wild)
    return st.fixed_dictionaries(fields).map(
        lambda values: {k: v for k, v in values.items() if v is not None})


def build(descriptor: Descriptor, values: dict[str, Any]) -> Message:
    """A message of `descriptor` from `message`'s values."""
    out = GetMessageClass(descriptor)()
    _fill(out, values)
    return out


def _fill(out: Message, values: dict[str, Any]) -> None:
    fields = out.DESCRIPTOR.fields_by_name
    for name, value in values.items():
        fd = fields[name]
        target = getattr(out, name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            target.update(value)
        elif fd.is_repeated and fd.message_type is not None:
            for item in value:
                _fill(target.add(), item)
        elif fd.is_repeated:
            target.extend(value)
        elif fd.message_type is not None:
            target.SetInParent()
            _fill(target, value)
        else:
            setattr(out, name, value)


def _bad_utf8(descriptor: Descriptor) -> bytes:
    """A string field (the first one) carrying bytes that are not UTF-8."""
    for fd in descriptor.fields:
        if fd.type == F.TYPE_STRING and not fd.is_repeated:
            return bytes([fd.number << 3 | 2, 2]) + b"\xc3\x28"
    return b"\x0a\x05ab"  # field 1, five bytes announced, two sent


def raw_requests(method: MethodDescriptor) -> st.SearchStrategy[bytes]:
    return st.one_of(st.just(_bad_utf8(method.input_type)), st.just(b"\xff\xff\xff\xff"),
                     st.binary(min_size=1, max_size=24))


async def _world(admin) -> None:
    if WORLD.card:
        WORLD.card = ""  # a fresh database per test: build it again
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(
        request_id=rid(), store=admin_pb2.Store(
        code=STORE, name="Kyiv 1")))
    await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(
        request_id=rid(), card_type=admin_pb2.CardType(
        code=CARD_TYPE, name="Gold", accrual_bps=500, number_prefix="2910")))
    await admin.admin.UpsertProducts(admin_pb2.UpsertProductsRequest(request_id=rid(), products=[
        admin_pb2.Product(sku=SKU, name="Milk", barcodes=[BARCODE])]))
    member = (await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()), profile=members_pb2.MemberProfile(
            first_name="Olena", phone="067 123 45 67"),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type=CARD_TYPE))).member
    C = certificates_pb2
    await admin.certificates.UpsertCertificateType(C.UpsertCertificateTypeRequest(
        request_id=str(uuid.uuid4()), certificate_type=C.CertificateType(
            code=CERT_TYPE, name="Gift", kind=C.CERTIFICATE_KIND_MONEY, currency="UAH",
            denominations_minor=[50000], barcode_format=C.BARCODE_FORMAT_CODE128,
            number_prefix="GC", remainder_policy=C.REMAINDER_POLICY_KEEP, valid_days=365)))
    issued = await admin.certificates.IssueCertificate(C.IssueCertificateRequest(
        request_id=str(uuid.uuid4()), certificate_type=CERT_TYPE, count=1, store_code=STORE,
        denomination_minor=50000))
    WORLD.member_id, WORLD.card = member.member_id, member.cards[0].number
    WORLD.certificate = issued.certificates[0].number


async def _fingerprint(conn: asyncpg.Connection) -> dict[str, int]:
    """Row counts of every table: a refused call must leave each as it was."""
    tables = [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    row = await conn.fetchrow("SELECT " + ", ".join(
        f'(SELECT count(*) FROM "{t}") AS "{t}"' for t in tables))
    return dict(row)


def _stub_call(admin, method: MethodDescriptor) -> Any:
    for stub in vars(admin).values():
        if type(stub).__name__ == f"{method.containing_service.name}Stub":
            return getattr(stub, method.name)
    raise AssertionError(f"the client has no stub for {method.containing_service.name}")


async def _finish(call: Any) -> None:
    """Await a unary call, or read a server stream (PromotionService.WhatIf) to its end."""
    if hasattr(call, "__aiter__"):
        async for _ in call:
            pass
    else:
        await call


@pytest.fixture(name="settings")
def settings_without_outbox(settings):  # type: ignore[no-untyped-def]
    """No outbox dispatcher: it would deliver an earlier example's events (writing their
    consumptions and messages) while a later example counts the rows."""
    return settings.model_copy(update={"outbox_enabled": False})


@pytest.fixture
async def world(app, admin) -> None:  # type: ignore[no-untyped-def]
    await _world(admin)
    await app.deps.pricing.refresh()


@pytest.fixture
async def conn(database_url) -> Any:  # type: ignore[no-untyped-def]
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name.removeprefix("kopilka.v1."))
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_bad_input_is_refused_cleanly_and_changes_nothing(
        admin, world, conn, app, method: MethodDescriptor, data: st.DataObject) -> None:
    as_bytes = data.draw(st.integers(0, 7)) == 0
    if as_bytes:
        raw = data.draw(raw_requests(method))
        opener = (admin.channel.stream_stream if method.client_streaming
                  else admin.channel.unary_stream if method.server_streaming
                  else admin.channel.unary_unary)
        send = opener(f"/{method.containing_service.full_name}/{method.name}",
                      request_serializer=None, response_deserializer=None)
    else:
        request = build(method.input_type, data.draw(message(method.input_type)))
        if request.ByteSize() > MAX_MESSAGE:
            return  # gRPC refuses it before any server code runs (RESOURCE_EXHAUSTED)
    before = await _fingerprint(conn)
    try:
        with rpc_error() as failure:
            # a client-streamed RPC (ImportService.UploadImport) gets one message
            one = (lambda m: iter([m])) if method.client_streaming else (lambda m: m)
            await _finish(send(one(raw)) if as_bytes
                          else _stub_call(admin, method)(one(request)))
    except AssertionError:  # it succeeded: a valid request may change the world
        return
    assert failure.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), failure
    if failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        assert failure.reason, f"a transport limit, not a refusal: {failure.message}"
    assert await _fingerprint(conn) == before, f"{failure.reason} changed the database"
