"""Kopilka plugin system: hook specifications, contracts and built-in plugins.

Plugins implement hooks marked with :data:`hookimpl` and register under the entry-point
group ``kopilka.plugins``; see ``plugins/README.md``.
"""

from plugins.hookspecs import PROJECT_NAME, hookimpl

ENTRY_POINT_GROUP = "kopilka.plugins"

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "hookimpl"]
