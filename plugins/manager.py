"""Composition of the plugin manager: built-ins and third-party plugins load alike.

Everything comes through the ``kopilka.plugins`` entry-point group. Built-ins that are not
found there (a source checkout that was never ``pip install``-ed, as in tests) are
registered from their modules under the same names, so behaviour does not depend on
installation. ``KOPILKA_DISABLE_PLUGINS=smpp,email`` blocks plugins by name.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

import pluggy

from plugins import ENTRY_POINT_GROUP, hookspecs
from plugins.host import PluginHost

DISABLE_ENV_VAR = "KOPILKA_DISABLE_PLUGINS"

#: Built-in plugin name -> module; must match the entry points in pyproject.toml.
BUILTIN_PLUGINS: Mapping[str, str] = {
    "smpp": "plugins.smpp",
    "email": "plugins.email",
    "liqpay": "plugins.liqpay",
    "novaposhta": "plugins.novaposhta",
    "onec": "plugins.onec",
    "barcode": "plugins.barcode",
}

__all__ = ["BUILTIN_PLUGINS", "DISABLE_ENV_VAR", "PluginHost", "build_plugin_manager"]


def disabled_from_env(environ: Mapping[str, str]) -> set[str]:
    """Parse ``KOPILKA_DISABLE_PLUGINS`` (comma separated, blanks ignored)."""
    raw = environ.get(DISABLE_ENV_VAR, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def build_plugin_manager(
    disabled: set[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    load_entry_points: bool = True,
) -> pluggy.PluginManager:
    """Create a validated plugin manager with every enabled plugin registered.

    ``disabled`` adds to the names from the environment. ``load_entry_points=False``
    registers only the built-ins, for tests that must not see installed third parties.
    Raises ``pluggy.PluginValidationError`` if a plugin implements an unknown
    ``kopilka_`` hook or a hook with wrong argument names.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    blocked = disabled_from_env(os.environ if environ is None else environ)
    blocked |= disabled or set()
    for name in blocked:
        pm.set_blocked(name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name, module_name in BUILTIN_PLUGINS.items():
        if not pm.is_blocked(name) and pm.get_plugin(name) is None:
            pm.register(importlib.import_module(module_name), name=name)
    pm.check_pending()
    return pm
