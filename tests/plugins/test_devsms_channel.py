"""The development SMS channel: shows each message, reports it delivered, demo mode only."""

from __future__ import annotations

import io

import pytest

import plugins.devsms
from server.plugin_api import DeliveryReport, DeliveryState, OutgoingMessage, SendStatus
from server.plugin_host import PluginHost, build_plugin_manager


def host(sections: dict) -> PluginHost:  # type: ignore[type-arg]
    """The built-ins, devsms among them, found by their entry points."""
    return PluginHost(build_plugin_manager(load_entry_points=False, environ={}), sections)


async def test_it_shows_the_message_and_reports_it_delivered() -> None:
    [channel] = host({"devsms": {"demo": True}}).message_channels().values()
    assert channel.name == "sms"
    shown = io.StringIO()
    channel._stream = shown  # type: ignore[attr-defined]  # the terminal, here a buffer
    reports: list[DeliveryReport] = []

    async def record(report: DeliveryReport) -> None:
        reports.append(report)

    await channel.start(record)
    result = await channel.send(OutgoingMessage("sms", "+380671234567", "Ваш код: 123456",
                                                reference="m-1"))
    await channel.stop()
    assert result.status is SendStatus.ACCEPTED and len(result.provider_message_ids) == 1
    assert shown.getvalue() == "[dev SMS to +38067***4567] Ваш код: 123456\n"
    assert [(r.provider_message_id, r.state) for r in reports] == \
        [(result.provider_message_ids[0], DeliveryState.DELIVERED)]


@pytest.mark.parametrize(("section", "offered"), [
    ({"demo": True}, True), ({"allow_outside_demo": True}, True), ({}, False),
    ({"demo": False, "allow_outside_demo": "no"}, False),
])
def test_outside_demo_mode_it_starts_only_when_asked(section, offered) -> None:
    if offered:
        assert list(host({"devsms": section}).message_channels()) == ["sms"]
    else:
        with pytest.raises(plugins.devsms.NotInDemoModeError, match="KOPILKA_DEV_SMS=1"):
            host({"devsms": section}).message_channels()


def test_without_a_section_it_offers_nothing() -> None:
    assert host({}).message_channels() == {}
