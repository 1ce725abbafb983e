"""Plugin manager composition and the PluginHost facade."""

from __future__ import annotations

import pluggy
import pytest

from plugins.email import EmailChannel
from plugins.smpp import SmppChannel
from server.plugin_api import DomainEvent, OutgoingMessage, SendResult, SendStatus, hookimpl
from server.plugin_host import (
    DuplicateProviderError,
    PluginHost,
    PluginInfo,
    build_plugin_manager,
)

BUILTINS = ["barcode", "devsms", "email", "liqpay", "novaposhta", "onec", "smpp", "viber"]
SETTINGS = {
    "smpp": {"host": "127.0.0.1", "port": "2775", "system_id": "kopilka"},
    "email": {"host": "127.0.0.1", "sender": "noreply@kopilka.test"},
}


def manager(**kwargs: object) -> pluggy.PluginManager:
    kwargs.setdefault("environ", {})
    return build_plugin_manager(load_entry_points=False, **kwargs)  # type: ignore[arg-type]


def test_builtins_come_from_the_kopilka_entry_points() -> None:
    host = PluginHost(manager(), SETTINGS)
    assert [p.name for p in host.list_plugins()] == BUILTINS
    channels = host.message_channels()
    assert isinstance(channels["sms"], SmppChannel)
    assert isinstance(channels["email"], EmailChannel)
    assert channels["sms"].settings.port == 2775  # coerced from the string


def test_channels_are_created_once() -> None:
    host = PluginHost(manager(), SETTINGS)
    assert host.message_channels()["sms"] is host.message_channels()["sms"]


def test_unconfigured_plugins_offer_nothing() -> None:
    assert PluginHost(manager(), {}).message_channels() == {}


def test_disabled_argument_blocks_a_plugin() -> None:
    host = PluginHost(manager(disabled={"smpp"}), SETTINGS)
    assert list(host.message_channels()) == ["email"]
    assert [p.name for p in host.list_plugins()] == [n for n in BUILTINS if n != "smpp"]


def test_environment_variable_blocks_plugins() -> None:
    pm = manager(environ={"KOPILKA_DISABLE_PLUGINS": " smpp , email ,"})
    assert PluginHost(pm, SETTINGS).message_channels() == {}
    assert pm.is_blocked("smpp") and pm.is_blocked("email")


def test_entry_points_load_the_builtins_once() -> None:
    """All entry points (third parties included) still register each built-in once."""
    pm = build_plugin_manager(environ={})
    assert {"smpp", "email"} <= {name for name, _ in pm.list_name_plugin()}


def test_settings_with_an_unknown_key_fail_loudly() -> None:
    host = PluginHost(manager(), {"smpp": {"host": "h", "pasword": "typo"}})
    with pytest.raises(ValueError, match="pasword"):
        host.message_channels()


class _Channel:
    """A channel offered by a test plugin; only its name and lifecycle matter here."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def start(self, on_delivery_report=None) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(SendStatus.REJECTED)


def test_duplicate_channel_names_are_refused() -> None:
    class Clash:
        @hookimpl
        def kopilka_message_channels(self, settings):
            return [_Channel("email")]

    pm = manager()
    pm.register(Clash(), name="clash")
    with pytest.raises(DuplicateProviderError, match="email"):
        PluginHost(pm, SETTINGS).message_channels()


def test_check_pending_rejects_unknown_kopilka_hooks() -> None:
    class Typo:
        @hookimpl
        def kopilka_message_chanels(self, settings):
            return []

    pm = manager()
    pm.register(Typo(), name="typo")
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_wrong_hook_arguments_are_rejected_at_registration() -> None:
    class Wrong:
        @hookimpl
        def kopilka_on_event(self, evt):
            pass

    with pytest.raises(pluggy.PluginValidationError):
        manager().register(Wrong(), name="wrong")


def test_emit_event_isolates_failing_plugins() -> None:
    seen: list[tuple[str, str]] = []

    class Broken:
        @hookimpl
        def kopilka_on_event(self, event):
            raise RuntimeError("boom")

    class Recorder:
        @hookimpl
        def kopilka_on_event(self, event):
            seen.append((event.type, event.payload["receipt_id"]))

    pm = manager()
    pm.register(Recorder(), name="recorder")
    pm.register(Broken(), name="broken")  # pluggy calls later registrations first
    event = DomainEvent("receipt.confirmed", {"receipt_id": "R-1"}, event_id="e-1")
    failures = PluginHost(pm, {}).emit_event(event)
    assert seen == [("receipt.confirmed", "R-1")]
    assert [(f.plugin, str(f.error)) for f in failures] == [("broken", "boom")]


async def test_host_starts_and_stops_channels() -> None:
    calls: list[str] = []

    class Lifecycle(_Channel):
        async def start(self, on_delivery_report=None) -> None:
            calls.append(f"start:{on_delivery_report is report}")

        async def stop(self) -> None:
            calls.append("stop")

    class ViberPlugin:
        @hookimpl
        def kopilka_message_channels(self, settings):
            return [Lifecycle("viber")]

    async def report(_: object) -> None: ...

    pm = manager(disabled=set(BUILTINS))
    pm.register(ViberPlugin(), name="test-viber")  # "viber" is the built-in, blocked here
    host = PluginHost(pm, SETTINGS)
    await host.start_channels(report)
    await host.stop_channels()
    assert calls == ["start:True", "stop"]
    assert host.list_plugins() == [PluginInfo("test-viber", None, None)]
