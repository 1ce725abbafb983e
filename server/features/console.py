"""The operator console's HTTP mount (server/console/): on with KOPILKA_HTTP_LISTEN unless
KOPILKA_CONSOLE_ENABLED=false. It keeps no state in memory (sessions are in the database),
so it runs with any number of workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.features.http import HttpMount

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings


def console_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps) -> HttpMount | None:
    if not settings.console_enabled:
        return None
    from server.app import SERVICERS  # the same servicer classes the gRPC server runs
    from server.console.common import PREFIX
    from server.console.door import Door
    from server.console.web import Console

    servicers = {name: make(deps) for _, make, name in SERVICERS}
    console = Console(Door(deps, servicers), settings.console_secure_cookies)
    return HttpMount("the operator console", PREFIX + "/", console.add_routes)
