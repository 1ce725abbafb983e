"""DomainError -> google.rpc.Status with ErrorInfo and BadRequest, the one error shape.

A refusal whose metadata says `retry_after_seconds` also carries google.rpc.RetryInfo, so
clients can back off with the standard detail instead of parsing metadata.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.errors import DomainError, ErrorKind

ERROR_DOMAIN = "kopilka.v1"

GRPC_CODES: dict[ErrorKind, grpc.StatusCode] = {
    kind: getattr(grpc.StatusCode, kind.value) for kind in ErrorKind
}


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: DomainError) -> grpc.Status:
    """The rich status for a domain error: code, message, ErrorInfo, field violations."""
    code = GRPC_CODES[error.kind]
    details = [_pack(error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    ))]
    if error.violations:
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ])))
    retry_after = error.metadata.get("retry_after_seconds")
    if retry_after is not None:
        details.append(_pack(error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=int(retry_after)))))
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=error.message, details=details
    )
    return rpc_status.to_status(status)
