"""`kopilka plugins`: which plugins are loaded, from which distribution, and what they offer.

Reads the same KOPILKA_* settings the server does, so it shows what a server started with
this environment would load: disabled plugins, unconfigured channels and configuration
errors (exit code 1) included. It opens no connections.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field

from server.settings import Settings


@dataclass
class PluginRow:
    name: str
    distribution: str
    version: str
    channels: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    error: str = ""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("plugins", help="list loaded plugins, their versions and channels")
    cmd.add_argument("--json", action="store_true", help="machine-readable output")
    cmd.set_defaults(func=cmd_plugins)


def plugin_rows(settings: Settings) -> tuple[list[PluginRow], list[str]]:
    """Loaded plugins with the channels each provides under `settings`; and disabled names."""
    from server.features.outbox import plugin_sections
    from server.plugin_host import PluginHost, build_plugin_manager, disabled_from_env

    sections = plugin_sections(settings)
    host = PluginHost(build_plugin_manager(), sections)
    rows = {info.name: PluginRow(info.name, info.distribution or "(module)",
                                 info.version or "-", hooks=host.hooks_of(info.name))
            for info in host.list_plugins()}
    for name, call in host.each_plugin("kopilka_message_channels"):
        row = rows.get(name)
        if row is None:
            continue
        try:
            channels = [channel for result in call(settings=sections) for channel in result]
            row.channels = sorted(channel.name for channel in channels)
        except Exception as exc:  # a bad section: show it rather than crash the listing
            row.error = f"{type(exc).__name__}: {exc}"
    return sorted(rows.values(), key=lambda r: r.name), sorted(disabled_from_env(os.environ))


def cmd_plugins(settings: Settings, args: argparse.Namespace) -> int:
    rows, disabled = plugin_rows(settings)
    if args.json:
        print(json.dumps({"plugins": [asdict(r) for r in rows], "disabled": disabled},
                         ensure_ascii=False, indent=2))
    else:
        table = [("PLUGIN", "DISTRIBUTION", "VERSION", "CHANNELS", "HOOKS")] + [
            (r.name, r.distribution, r.version,
             f"error: {r.error}" if r.error else ", ".join(r.channels) or "-",
             ", ".join(h.removeprefix("kopilka_") for h in r.hooks))
            for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
                  + "  " + row[4])
        if disabled:
            print(f"disabled: {', '.join(disabled)}")
        if not any(r.channels for r in rows):
            print("no message channels configured (set KOPILKA_SMPP_HOST or KOPILKA_SMTP_HOST; "
                  "KOPILKA_DEV_SMS=1 shows SMS on the terminal, for development)",
                  file=sys.stderr)
    return 1 if any(r.error for r in rows) else 0
