"""Fixtures the SMS e2e tests share (verification, outbox, mailing history).

A module opts in by overriding `settings` with `server_settings(tmp_path, smsc.port,
**overrides)`; nothing here starts unless a test asks for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.verification_support import setup_world
from tests.smsc import Smsc


@pytest.fixture
def overrides() -> dict[str, object]:
    """Server settings a test changes (parametrize it indirectly)."""
    return {}


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    """A running SMSC on loopback."""
    peer = Smsc()
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def world(admin) -> None:  # type: ignore[no-untyped-def]
    """Store kyiv-01 and the gold card type that requires verification."""
    await setup_world(admin)
