"""Assertions on rich gRPC errors, shared by the e2e tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2, status_pb2


def rid() -> str:
    """A fresh request_id (every mutating request takes one)."""
    return str(uuid.uuid4())


@dataclass
class RpcFailure:
    """What a failed call said: code, ErrorInfo reason and metadata, BadRequest field names."""

    code: grpc.StatusCode | None = None
    reason: str = ""
    fields: list[str] = field(default_factory=list)
    message: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    retry_delay: int | None = None  # google.rpc.RetryInfo.retry_delay, whole seconds


@contextlib.contextmanager
def rpc_error() -> Iterator[RpcFailure]:
    """`with rpc_error() as failure: await call(...)`, then assert on failure."""
    failure = RpcFailure()
    try:
        yield failure
    except grpc.aio.AioRpcError as error:
        failure.code = error.code()
        failure.message = error.details() or ""
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                for detail in status.details:
                    if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                        info = error_details_pb2.ErrorInfo()
                        detail.Unpack(info)
                        failure.reason = info.reason
                        failure.metadata = dict(info.metadata)
                    elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                        bad = error_details_pb2.BadRequest()
                        detail.Unpack(bad)
                        failure.fields = [v.field for v in bad.field_violations]
                    elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                        retry = error_details_pb2.RetryInfo()
                        detail.Unpack(retry)
                        failure.retry_delay = retry.retry_delay.seconds
    else:
        raise AssertionError("the call was expected to fail but succeeded")
