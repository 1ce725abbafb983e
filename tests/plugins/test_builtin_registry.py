"""Built-ins load only through entry points: every plugin package is declared and installed."""

from __future__ import annotations

import tomllib
from pathlib import Path

from server.plugin_host import builtin_plugin_names

ROOT = Path(__file__).parents[2]


def declared() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(pyproject["project"]["entry-points"]["kopilka.plugins"])


def test_every_builtin_plugin_package_has_an_entry_point() -> None:
    packages = {f"plugins.{p.parent.name}" for p in (ROOT / "plugins").glob("*/__init__.py")}
    assert set(declared().values()) == packages


def test_the_installed_entry_points_are_the_declared_ones() -> None:
    """A stale install (`pip install -e .` not rerun after a change) shows here."""
    assert builtin_plugin_names() == sorted(declared())
