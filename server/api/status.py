"""DomainError -> google.rpc.Status with ErrorInfo and BadRequest, the one error shape.

A refusal whose metadata says `retry_after_seconds` also carries google.rpc.RetryInfo, so
clients can back off with the standard detail instead of parsing metadata.

Everything is bounded here, whoever built the error: the message, each description and
metadata value are cut, at most MAX_VIOLATIONS field violations travel (ErrorInfo metadata
`violation_count` says how many there were), and the whole Status stays under STATUS_BYTES,
so an error never exceeds gRPC's 8 KiB metadata limit (base64 in the trailers).
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.errors import MAX_VIOLATIONS, DomainError, ErrorKind, FieldViolation

MESSAGE_CHARS = 300
DESCRIPTION_CHARS = 160
FIELD_CHARS = 80
METADATA_CHARS = 128
STATUS_BYTES = 3000

ERROR_DOMAIN = "kopilka.v1"

GRPC_CODES: dict[ErrorKind, grpc.StatusCode] = {
    kind: getattr(grpc.StatusCode, kind.value) for kind in ErrorKind
}


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 3] + "..."


def _status(error: DomainError, violations: list[FieldViolation]) -> status_pb2.Status:
    metadata = {_cut(k, METADATA_CHARS): _cut(v, METADATA_CHARS)
                for k, v in error.metadata.items()}
    if len(violations) < len(error.violations):
        metadata["violation_count"] = metadata.get(
            "violation_count", str(len(error.violations)))
    details = [_pack(error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=metadata))]
    if violations:
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=_cut(v.field, FIELD_CHARS),
                description=_cut(v.description, DESCRIPTION_CHARS))
            for v in violations
        ])))
    retry_after = error.metadata.get("retry_after_seconds")
    if retry_after is not None:
        details.append(_pack(error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=int(retry_after)))))
    return status_pb2.Status(code=getattr(code_pb2, GRPC_CODES[error.kind].name),
                             message=_cut(error.message, MESSAGE_CHARS), details=details)


def to_status(error: DomainError) -> grpc.Status:
    """The rich status for a domain error: code, message, ErrorInfo, field violations."""
    violations = error.violations[:MAX_VIOLATIONS]
    status = _status(error, violations)
    while violations and status.ByteSize() > STATUS_BYTES:  # long multi-byte descriptions
        violations = violations[:len(violations) // 2]
        status = _status(error, violations)
    return rpc_status.to_status(status)
