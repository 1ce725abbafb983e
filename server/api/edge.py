"""The check every request passes before its servicer runs, the same for every RPC.

Walks the request by its descriptor: strings free of NUL (PostgreSQL text cannot hold one)
and within their declared length, repeated fields within their count, integers within
+-MAX_AMOUNT, timestamps within years 1 to 9999 (enum values and what a field means are
the servicer's to judge, so it can name every bad field of a request at once). The
limits are server/limits.py's; a field it does not declare still gets DEFAULT_LIMIT, so
nothing a caller sends is unbounded. Every bad field is reported (bounded by Violations).

A request that cannot be parsed at all (truncated protobuf, invalid UTF-8 in a string)
becomes `Undecodable` in `lenient` so the interceptor answers INVALID_ARGUMENT, not the
UNKNOWN grpc.aio gives when a deserializer raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from server.errors import DomainError, ErrorKind, FieldViolation, Violations
from server.limits import MAX_AMOUNT, Limit, limit_of

DEFAULT_LIMIT = Limit(chars=256, items=1000)
PACKAGE = "kopilka.v1."
TIMESTAMP = "google.protobuf.Timestamp"
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799  # 0001-01-01 .. 9999-12-31
INTS = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64}

Plan = dict[int, tuple[str, int, Limit, bool, Any]]
Path = tuple[str, str, "int | str | None"]
_plans: dict[str, Plan] = {}
# Per request message: top-level fields whose limits its servicer checks in its own single
# pass over them (validation once: CalculateReceipt's lines). See `checked_by_servicer`.
_self_checked: dict[str, frozenset[str]] = {}


def checked_by_servicer(full_name: str, *fields: str) -> None:
    """Declare that the servicer of request `full_name` enforces these fields' limits (the
    same texts and paths, and before any check of its own), so a good request is walked
    once. A request with another bad field is still walked in full here, so every bad
    field is named together as before."""
    _self_checked[full_name] = frozenset(fields)


class Undecodable:
    """Stands for a request whose bytes did not parse; `error` says why (for the log)."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error


def lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    """A request deserializer that returns Undecodable instead of raising."""
    def parse(raw: bytes) -> Any:
        if deserialize is None:
            return raw
        try:
            return deserialize(raw)
        except Exception as exc:  # DecodeError, RecursionError on absurd nesting, ...
            return Undecodable(type(exc).__name__)
    return parse


def undecodable() -> DomainError:
    """The refusal for bytes that are not a request of this RPC."""
    return DomainError(
        ErrorKind.INVALID_ARGUMENT, "MALFORMED_REQUEST",
        "the request is not a valid protobuf message of this RPC (or a string is not UTF-8)",
        [FieldViolation("", "cannot be parsed")])


STRING, BYTES, MESSAGE = FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES, \
    FieldDescriptor.TYPE_MESSAGE


def _plan(descriptor: Any) -> Plan:  # a Descriptor (upb's or the pure-Python one)
    """Per field number: (name, type, limit, repeated, map entry descriptor or None), read
    once per message type; the per-call walk then touches no descriptor property."""
    plan = _plans.get(descriptor.full_name)
    if plan is None:
        owner = descriptor.full_name.removeprefix(PACKAGE)
        plan = _plans[descriptor.full_name] = {}
        for f in descriptor.fields:
            entry = f.message_type
            is_map = entry is not None and entry.GetOptions().map_entry
            plan[f.number] = (f.name, f.type, limit_of(owner, f.name) or DEFAULT_LIMIT,
                              f.is_repeated, entry if is_map else None)
    return plan


def _scalar(errors: Violations, kind: int, limit: Limit, value: Any, path: Path) -> None:
    """`path` is (prefix, name, index or key): joined only when something is wrong."""
    if kind == STRING:
        if "\x00" in value:
            errors.add(_join(path), "must not contain a NUL character")
        if len(value) > limit.chars:
            errors.add(_join(path), f"at most {limit.chars} characters")
    elif kind == MESSAGE:
        _message(errors, value, _join(path) + ".")
    elif kind in INTS:
        if not -MAX_AMOUNT <= value <= MAX_AMOUNT:
            errors.add(_join(path), f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}")
    elif kind == BYTES and len(value) > limit.chars:
        errors.add(_join(path), f"at most {limit.chars} bytes")


def _join(path: Path) -> str:
    prefix, name, at = path
    if at is None:
        return prefix + name
    return f"{prefix}{name}[{at!r}]" if isinstance(at, str) else f"{prefix}{name}[{at}]"


def _timestamp(errors: Violations, message: Any, path: str) -> None:
    if not MIN_SECONDS <= message.seconds <= MAX_SECONDS or not 0 <= message.nanos < 10**9:
        errors.add(path.removesuffix("."), "not a valid time (years 1 to 9999)")


def _message(errors: Violations, message: Message, prefix: str,
             skip: frozenset[str] = frozenset()) -> None:
    descriptor = message.DESCRIPTOR
    if descriptor.full_name == TIMESTAMP:
        _timestamp(errors, message, prefix)
        return
    plan = _plan(descriptor)
    for fd, value in message.ListFields():
        name, kind, limit, repeated, entry = plan[fd.number]
        if name in skip:
            continue
        if not repeated:
            _scalar(errors, kind, limit, value, (prefix, name, None))
            continue
        if len(value) > limit.items:
            errors.add(prefix + name, f"at most {limit.items} items")
            continue  # the count is the problem; don't list every element too
        if entry is not None:
            entry_plan = _plan(entry)
            _, key_kind, key_limit, _, _ = entry_plan[1]
            _, value_kind, value_limit, _, _ = entry_plan[2]
            for key, item in value.items():
                at = str(key)[:32]
                _scalar(errors, key_kind, key_limit, key, (prefix, name, at))
                _scalar(errors, value_kind, value_limit, item, (prefix, name, at))
            continue
        for i, item in enumerate(value):
            _scalar(errors, kind, limit, item, (prefix, name, i))


def check_request(request: Message) -> None:
    """Refuse, with INVALID_ARGUMENT naming each field, what no RPC could store or use."""
    errors = Violations()
    skip = _self_checked.get(request.DESCRIPTOR.full_name)
    if skip is None:
        _message(errors, request, "")
    else:
        _message(errors, request, "", skip)
        if errors:  # name the servicer-checked fields' faults too, in the usual order
            errors = Violations()
            _message(errors, request, "")
    errors.raise_if_any()


def limit_for(owner: str, field: str) -> Limit:
    """The limit this check applies to `owner.field` (for servicers that check it)."""
    return limit_of(owner, field) or DEFAULT_LIMIT
