"""Kopilka gRPC client: generated stubs in `kopilka.v1` and a small connection helper."""

from kopilka.connect import KopilkaClient, bearer_metadata, tls_credentials

__all__ = ["KopilkaClient", "bearer_metadata", "tls_credentials"]
