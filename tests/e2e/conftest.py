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


@pytest.fixture(autouse=True)
def _sales_see_new_stores(request) -> None:  # type: ignore[no-untyped-def]
    """certificates_helpers.sale books a real receipt (RedeemCertificate wants one); a store
    a test has just created is priced once the worker's snapshot is refreshed, which only
    the test's `app` can do. Looked up when a sale needs it (by then the test's clients
    have started it), so this changes no fixture's order and starts nothing."""
    from tests.e2e import certificates_helpers

    certificates_helpers.APP = (lambda: request.getfixturevalue("app")) \
        if "app" in request.fixturenames else None
