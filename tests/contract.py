"""The proto contract as descriptors: every service of every generated module, so a test
that walks it covers a new .proto, service or RPC without being told."""

from __future__ import annotations

import importlib
import pkgutil

import kopilka.v1
from google.protobuf.descriptor import ServiceDescriptor


def request_services() -> list[ServiceDescriptor]:
    """Every service in kopilka.v1's generated *_pb2 modules."""
    modules = [importlib.import_module(f"kopilka.v1.{info.name}")
               for info in pkgutil.iter_modules(kopilka.v1.__path__)
               if info.name.endswith("_pb2")]
    return [service for module in modules
            for service in module.DESCRIPTOR.services_by_name.values()]
