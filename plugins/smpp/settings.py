"""Configuration of the SMPP channel (the ``smpp`` settings section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.plugin_api import settings_from_mapping


@dataclass(frozen=True, slots=True)
class SmppSettings:
    """Connection, addressing and timing; times are in seconds.

    ``source_addr_ton``/``npi`` of None pick alphanumeric (5/0) for a sender name and
    international (1/1) for digits. Throttle backoff doubles per ESME_RTHROTTLED up to
    ``throttle_backoff_max``; after ``throttle_retries`` the send returns RETRY_LATER.
    """

    host: str
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    source_addr: str = ""
    source_addr_ton: int | None = None
    source_addr_npi: int | None = None
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    request_receipts: bool = True
    window_size: int = 10  # submit_sm awaiting a response at once, as SMSCs allow
    connect_timeout: float = 10.0
    response_timeout: float = 10.0
    enquire_link_interval: float = 30.0
    reconnect_delay: float = 1.0
    reconnect_delay_max: float = 30.0
    throttle_backoff: float = 1.0
    throttle_backoff_max: float = 30.0
    throttle_retries: int = 6
    send_timeout: float = 60.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> SmppSettings:
        return settings_from_mapping(cls, raw)
