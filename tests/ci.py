"""A test that needs an external tool skips without it on a developer machine; in CI it fails.

`.ci/run` exports CI (GitHub Actions and most CI services set it too), so a CI run cannot
pass by skipping the buf, promtool or setuptools tests.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when CI is set to anything but an explicit no ("", "0", "false", "no")."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def tool_missing(what: str, how: str) -> NoReturn:
    """Skip the calling test because `what` is missing, or fail it in CI; `how` installs it."""
    if in_ci():
        pytest.fail(f"{what} missing in CI: {how}")
    pytest.skip(f"{what} not installed ({how})")
