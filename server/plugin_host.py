"""The server's side of plugins: the plugin manager and a typed facade over it.

`build_plugin_manager` loads every plugin, built-in or third-party, through the
``kopilka.plugins`` entry points (the server imports no plugin module).
`PluginHost` is the only way the server calls hooks: it flattens per-plugin lists, refuses
duplicate provider names, creates providers once (they own connections) and isolates
failures of fire-and-forget event handlers. Both use pluggy's public API only.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

import pluggy

from server import plugin_api
from server.plugin_contracts import (
    CatalogExchange,
    DeliveryCallback,
    DomainEvent,
    IncomingCallback,
    MessageChannel,
    PaymentProvider,
    PluginSettings,
    ReceivingChannel,
    ScannerSource,
    ShipmentProvider,
)

log = logging.getLogger(__name__)


class _Named(Protocol):
    name: str


P = TypeVar("P", bound=_Named)


class PluginInfo(NamedTuple):
    name: str
    distribution: str | None  # None for plugins registered from a module, not a dist
    version: str | None


class EventFailure(NamedTuple):
    plugin: str
    error: BaseException


class DuplicateProviderError(ValueError):
    """Two plugins offer a provider under the same name; the choice would be arbitrary."""


class PluginHost:
    """Calls hooks with the given settings and keeps the providers they return.

    Providers own connections, so each registration hook is called once per host.
    """

    def __init__(self, pm: pluggy.PluginManager, settings: PluginSettings) -> None:
        self._pm = pm
        self._settings = settings
        self._providers: dict[str, dict[str, Any]] = {}

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        return self._pm

    def message_channels(self) -> dict[str, MessageChannel]:
        """Channels by name, created once and shared by every caller."""
        return self._collect("kopilka_message_channels")

    async def start_channels(self, on_delivery_report: DeliveryCallback | None = None,
                             on_incoming: IncomingCallback | None = None) -> None:
        for channel in self.message_channels().values():
            if on_incoming is not None and isinstance(channel, ReceivingChannel):
                channel.on_incoming(on_incoming)
            await channel.start(on_delivery_report)

    async def stop_channels(self) -> None:
        """Stop every channel even if one fails, then re-raise the first failure."""
        errors: list[BaseException] = []
        for channel in self.message_channels().values():
            try:
                await channel.stop()
            except Exception as exc:  # stop the rest, report below
                log.exception("stopping channel %s failed", channel.name)
                errors.append(exc)
        if errors:
            raise errors[0]

    def payment_providers(self) -> dict[str, PaymentProvider]:
        return self._collect("kopilka_payment_providers")

    def shipment_providers(self) -> dict[str, ShipmentProvider]:
        return self._collect("kopilka_shipment_providers")

    def catalog_exchanges(self) -> dict[str, CatalogExchange]:
        return self._collect("kopilka_catalog_exchanges")

    def scanner_sources(self) -> dict[str, ScannerSource]:
        return self._collect("kopilka_scanner_sources")

    def emit_event(self, event: DomainEvent) -> list[EventFailure]:
        """Give the event to every plugin; one failing handler does not skip the others.

        Returns the failures so the outbox can record or retry them; they are also logged.
        """
        failures: list[EventFailure] = []
        for name, call in self.each_plugin("kopilka_on_event"):
            try:
                call(event=event)
            except Exception as exc:  # isolate plugins from each other
                log.exception("plugin %s failed on event %s", name, event.type)
                failures.append(EventFailure(name, exc))
        return failures

    def each_plugin(self, hook_name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
        """(plugin name, a caller of that plugin's implementation alone) for each plugin
        implementing `hook_name`, so one plugin's failure cannot hide the others' results."""
        plugins = self._pm.get_plugins()
        for name, plugin in self._pm.list_name_plugin():
            if plugin is None:  # blocked (disabled) names stay listed inside pluggy
                continue
            if not any(caller.name == hook_name
                       for caller in self._pm.get_hookcallers(plugin) or []):
                continue
            others = [other for other in plugins if other is not plugin]
            yield name, self._pm.subset_hook_caller(hook_name, remove_plugins=others)

    def hooks_of(self, plugin_name: str) -> list[str]:
        """The ``kopilka_`` hooks a registered plugin implements, sorted."""
        plugin = self._pm.get_plugin(plugin_name)
        callers = self._pm.get_hookcallers(plugin) if plugin is not None else None
        return sorted(c.name for c in callers or [] if c.name.startswith("kopilka_"))

    def list_plugins(self) -> list[PluginInfo]:
        """Registered plugins with the distribution that provided them, sorted by name."""
        dists = {id(plugin): dist for plugin, dist in self._pm.list_plugin_distinfo()}
        infos = []
        for name, plugin in self._pm.list_name_plugin():
            if plugin is None:  # blocked (disabled) names stay listed inside pluggy
                continue
            dist = dists.get(id(plugin))
            if dist is None:
                infos.append(PluginInfo(name, None, None))
            else:
                infos.append(PluginInfo(name, dist.metadata["Name"], dist.version))
        return sorted(infos)

    def _collect(self, hook_name: str) -> dict[str, Any]:
        """Call a registration hook once; later calls return the same providers."""
        if hook_name not in self._providers:
            hook: Callable[..., Iterable[list[Any]]] = getattr(self._pm.hook, hook_name)
            found: dict[str, Any] = {}
            for provider in _flatten(hook(settings=self._settings)):
                if provider.name in found:
                    raise DuplicateProviderError(
                        f"two plugins provide {provider.name!r} ({hook_name})")
                found[provider.name] = provider
            self._providers[hook_name] = found
        return self._providers[hook_name]


def _flatten(results: Iterable[list[P]]) -> list[P]:
    return [item for result in results for item in result]


DISABLE_ENV_VAR = "KOPILKA_DISABLE_PLUGINS"

#: The distribution whose entry points are the built-in plugins (``plugins/``).
BUILTIN_DISTRIBUTION = "kopilka"


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

    Plugins come from the ``kopilka.plugins`` entry points of every installed distribution;
    ``load_entry_points=False`` loads only the built-ins (the entry points of the
    ``kopilka`` distribution itself), for tests that must not see installed third parties.
    ``disabled`` adds to the names from the environment. Raises
    ``pluggy.PluginValidationError`` if a plugin implements an unknown ``kopilka_`` hook or
    a hook with wrong argument names.
    """
    pm = pluggy.PluginManager(plugin_api.PROJECT_NAME)
    pm.add_hookspecs(plugin_api)
    blocked = disabled_from_env(os.environ if environ is None else environ)
    blocked |= disabled or set()
    for name in blocked:
        pm.set_blocked(name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(plugin_api.ENTRY_POINT_GROUP)
    else:
        for name in builtin_plugin_names():
            pm.load_setuptools_entrypoints(plugin_api.ENTRY_POINT_GROUP, name=name)
    pm.check_pending()
    return pm


def builtin_plugin_names() -> list[str]:
    """Entry-point names of the built-in plugins, as installed (``pip install -e .``)."""
    dist = importlib.metadata.distribution(BUILTIN_DISTRIBUTION)
    group = dist.entry_points.select(group=plugin_api.ENTRY_POINT_GROUP)
    return sorted(ep.name for ep in group)
