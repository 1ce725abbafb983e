"""A third-party plugin, packaged with an entry point, is found like the built-ins."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.plugin_api import DomainEvent, OutgoingMessage, SendStatus
from server.plugin_host import PluginHost, PluginInfo, build_plugin_manager
from tests.ci import tool_missing

PLUGIN_SOURCE = textwrap.dedent('''
    """kopilka-hello: a tiny third-party plugin with a channel and an event handler."""
    from server.plugin_api import SendResult, SendStatus, hookimpl

    EVENTS = []


    class HelloChannel:
        name = "hello"

        def __init__(self, greeting):
            self.greeting = greeting

        async def start(self, on_delivery_report=None):
            pass

        async def stop(self):
            pass

        async def send(self, message):
            return SendResult(SendStatus.ACCEPTED, (f"{self.greeting}:{message.recipient}",))


    @hookimpl
    def kopilka_message_channels(settings):
        section = settings.get("hello")
        return [HelloChannel(section["greeting"])] if section else []


    @hookimpl
    def kopilka_on_event(event):
        EVENTS.append(event.type)
''')

PYPROJECT = textwrap.dedent('''
    [build-system]
    requires = ["setuptools>=61"]
    build-backend = "setuptools.build_meta"

    [project]
    name = "kopilka-hello"
    version = "1.2.3"

    [project.entry-points."kopilka.plugins"]
    hello = "kopilka_hello"
''')


def write_dist_info(site: Path) -> None:
    """What an installer leaves behind: the module plus .dist-info with entry_points.txt."""
    (site / "kopilka_hello").mkdir()
    (site / "kopilka_hello" / "__init__.py").write_text(PLUGIN_SOURCE)
    info = site / "kopilka_hello-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kopilka-hello\n"
                                   "Version: 1.2.3\n")
    (info / "entry_points.txt").write_text('[kopilka.plugins]\nhello = kopilka_hello\n')


@pytest.fixture
def isolated_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site directory on sys.path for this test only; the plugin module is unloaded after."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))  # also invalidates import caches
    monkeypatch.delitem(sys.modules, "kopilka_hello", raising=False)
    yield site
    sys.modules.pop("kopilka_hello", None)
    importlib.invalidate_caches()


async def assert_plugin_works(host: PluginHost) -> None:
    assert PluginInfo("hello", "kopilka-hello", "1.2.3") in host.list_plugins()
    channel = host.message_channels()["hello"]
    result = await channel.send(OutgoingMessage("hello", "+380501234567", "hi"))
    assert (result.status, result.provider_message_ids) == (
        SendStatus.ACCEPTED, ("Привіт:+380501234567",))
    assert host.emit_event(DomainEvent("member.registered", {}, event_id="e-1")) == []
    assert sys.modules["kopilka_hello"].EVENTS == ["member.registered"]


async def test_entry_point_plugin_is_loaded(isolated_site: Path) -> None:
    write_dist_info(isolated_site)
    host = PluginHost(build_plugin_manager(environ={}), {"hello": {"greeting": "Привіт"}})
    await assert_plugin_works(host)


async def test_entry_point_plugin_can_be_disabled(isolated_site: Path) -> None:
    write_dist_info(isolated_site)
    pm = build_plugin_manager(environ={"KOPILKA_DISABLE_PLUGINS": "hello"})
    assert "hello" not in [p.name for p in PluginHost(pm, {}).list_plugins()]
    assert "kopilka_hello" not in sys.modules  # a disabled plugin is not even imported


async def test_pip_installed_plugin_is_loaded(tmp_path: Path, isolated_site: Path) -> None:
    """The real packaging path: pyproject -> setuptools build -> installed entry point."""
    if importlib.util.find_spec("setuptools") is None:
        tool_missing("setuptools", "it is in the test extras: pip install -e '.[test]'")
    project = tmp_path / "kopilka-hello"
    (project / "kopilka_hello").mkdir(parents=True)
    (project / "kopilka_hello" / "__init__.py").write_text(PLUGIN_SOURCE)
    (project / "pyproject.toml").write_text(PYPROJECT)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--disable-pip-version-check", "--target",
         str(isolated_site), str(project)],
        check=True, timeout=60, capture_output=True)
    importlib.invalidate_caches()
    host = PluginHost(build_plugin_manager(environ={}), {"hello": {"greeting": "Привіт"}})
    await assert_plugin_works(host)
