"""Configuration of the Viber channel (the ``viber`` settings section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.plugin_api import settings_from_mapping


@dataclass(frozen=True, slots=True)
class ViberSettings:
    """The partner's send URL and token, our sender name and where callbacks reach us.

    ``auth_token`` goes in the ``X-Viber-Auth-Token`` header of every send and is the HMAC
    key of the callbacks' ``X-Viber-Content-Signature``. ``callback_url`` is the public URL
    of ``path`` on this server's HTTP site, given to the provider with each message.
    ``default_ttl_seconds`` is the lifetime of a message queued without one.
    """

    send_url: str
    auth_token: str
    sender: str
    callback_url: str = ""
    path: str = "/hooks/viber"
    timeout: float = 10.0
    default_ttl_seconds: int = 86_400

    def __post_init__(self) -> None:
        if not self.send_url or not self.auth_token or not self.sender:
            raise ValueError("viber: send_url, auth_token and sender are required")
        if len(self.sender) > 28:
            raise ValueError("viber: sender is at most 28 characters")
        if not self.path.startswith("/hooks/"):
            raise ValueError("viber: path must be under /hooks/")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ViberSettings:
        return settings_from_mapping(cls, raw)
