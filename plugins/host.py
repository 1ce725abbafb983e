"""Typed facade over the plugin manager: the only way the server calls hooks.

It flattens per-plugin lists, refuses duplicate provider names, creates providers once
(they own connections) and isolates failures of fire-and-forget event handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, TypeVar

import pluggy

from plugins.contracts import (
    CatalogExchange,
    DeliveryCallback,
    DomainEvent,
    MessageChannel,
    PaymentProvider,
    PluginSettings,
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

    async def start_channels(self, on_delivery_report: DeliveryCallback | None = None) -> None:
        for channel in self.message_channels().values():
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
        for impl in self._pm.hook.kopilka_on_event.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:  # wrappers only make sense inside pluggy
                continue
            try:
                impl.function(*[{"event": event}[arg] for arg in impl.argnames])
            except Exception as exc:  # isolate plugins from each other
                log.exception("plugin %s failed on event %s", impl.plugin_name, event.type)
                failures.append(EventFailure(impl.plugin_name, exc))
        return failures

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
