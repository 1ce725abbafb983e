"""Configuration of the e-mail channel (the ``email`` settings section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.plugin_api import settings_from_mapping


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """SMTP submission settings; ``use_tls`` is implicit TLS (465), ``start_tls`` upgrades.

    ``start_tls`` None means "upgrade if the server offers it", as aiosmtplib does.
    """

    host: str
    sender: str
    port: int = 587
    username: str = ""
    password: str = ""
    use_tls: bool = False
    start_tls: bool | None = None
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> EmailSettings:
        return settings_from_mapping(cls, raw)
