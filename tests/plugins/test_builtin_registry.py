"""Built-in plugins are declared twice (entry points and the fallback map): keep them equal."""

from __future__ import annotations

import tomllib
from pathlib import Path

from plugins.manager import BUILTIN_PLUGINS


def test_entry_points_match_the_builtin_plugin_map() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    entry_points = pyproject["project"]["entry-points"]["kopilka.plugins"]
    assert entry_points == dict(BUILTIN_PLUGINS)
