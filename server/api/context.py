"""The context type a servicer method takes (the generated stubs pass grpc.aio's)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

# Unary methods never read or write the stream through the context, so its request and
# response parameters stay open; a string because grpc's runtime class is not generic.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
