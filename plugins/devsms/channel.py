"""The development SMS channel: shows messages on the server's terminal instead of sending."""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from server.plugin_api import (
    DeliveryCallback,
    DeliveryReport,
    DeliveryState,
    OutgoingMessage,
    SendResult,
    SendStatus,
    settings_from_mapping,
)

log = logging.getLogger(__name__)


class NotInDemoModeError(ValueError):
    """The channel was configured outside demo mode without being asked for explicitly."""


@dataclass(frozen=True, slots=True)
class DevSmsSettings:
    """``demo``: the server runs in demo mode (the host sets it for ``serve --demo-data``);
    ``allow_outside_demo``: run anyway (KOPILKA_DEV_SMS=1), e.g. on a staging box."""

    demo: bool = False
    allow_outside_demo: bool = False
    name: str = "sms"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> DevSmsSettings:
        return settings_from_mapping(cls, raw)


def _masked(recipient: str) -> str:
    """+380671234567 -> +38067***4567: the code is what the reader needs, not the number."""
    return recipient[:6] + "***" + recipient[-4:] if len(recipient) > 10 else "***"


class DevSmsChannel:
    """Accepts every message, prints it, and reports it delivered at once."""

    def __init__(self, settings: DevSmsSettings, stream: TextIO | None = None) -> None:
        self.name = settings.name
        self._stream = stream
        self._report: DeliveryCallback | None = None
        self._ids = itertools.count(1)

    async def start(self, on_delivery_report: DeliveryCallback | None = None) -> None:
        self._report = on_delivery_report
        log.warning("development SMS channel: messages are shown on this terminal, not sent")

    async def stop(self) -> None:
        self._report = None

    async def send(self, message: OutgoingMessage) -> SendResult:
        # the outbox reference makes the id unique across workers and restarts
        message_id = f"dev-{message.reference or 'x'}-{next(self._ids)}"
        stream = self._stream or sys.stderr
        stream.write(f"[dev SMS to {_masked(message.recipient)}] {message.body}\n")
        stream.flush()
        if self._report is not None:
            try:  # kept by the host until the send records its id, then applied
                await self._report(DeliveryReport(self.name, message_id,
                                                  DeliveryState.DELIVERED, raw="dev"))
            except Exception:  # the message was shown; its receipt is not worth a retry
                log.warning("development SMS channel: delivery report not recorded",
                            exc_info=True)
        return SendResult(SendStatus.ACCEPTED, (message_id,))
