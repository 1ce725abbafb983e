"""Fixtures the SMS e2e tests share (verification, outbox, mailing history).

A module opts in by overriding `settings` with `server_settings(tmp_path, smsc.port,
**overrides)` (`smsc` is in tests/conftest.py); nothing starts unless a test asks for it.
"""

from __future__ import annotations

import pytest

from tests.e2e.verification_support import setup_world


@pytest.fixture
def overrides() -> dict[str, object]:
    """Server settings a test changes (parametrize it indirectly)."""
    return {}


@pytest.fixture
async def world(admin) -> None:  # type: ignore[no-untyped-def]
    """Store kyiv-01 and the gold card type that requires verification."""
    await setup_world(admin)
