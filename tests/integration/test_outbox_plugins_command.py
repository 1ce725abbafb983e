"""`kopilka plugins` lists what a server with the same environment would load."""

from __future__ import annotations

import json

from server.cli import main


def run(monkeypatch, capsys, env: dict[str, str], *args: str) -> tuple[int, str]:
    for name in ("KOPILKA_SMPP_HOST", "KOPILKA_SMTP_HOST", "KOPILKA_SMTP_SENDER",
                 "KOPILKA_DISABLE_PLUGINS", "KOPILKA_PLUGIN_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["plugins", *args])
    return code, capsys.readouterr().out


def test_lists_builtins_with_distribution_version_and_channels(monkeypatch, capsys) -> None:
    code, out = run(monkeypatch, capsys, {"KOPILKA_SMPP_HOST": "smsc.example"}, "--json")
    listing = json.loads(out)
    by_name = {p["name"]: p for p in listing["plugins"]}
    assert code == 0 and {"smpp", "email"} <= set(by_name)
    assert by_name["smpp"]["distribution"] == "kopilka" and by_name["smpp"]["version"]
    assert by_name["smpp"]["channels"] == ["sms"]
    assert by_name["email"]["channels"] == []  # no KOPILKA_SMTP_HOST
    assert "kopilka_message_channels" in by_name["smpp"]["hooks"]


def test_table_shows_disabled_plugins_and_configuration_errors(monkeypatch, capsys) -> None:
    code, out = run(monkeypatch, capsys, {
        "KOPILKA_DISABLE_PLUGINS": "email",
        "KOPILKA_PLUGIN_SETTINGS": '{"smpp": {"host": "x", "windw_size": 3}}'})
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["PLUGIN", "DISTRIBUTION", "VERSION", "CHANNELS"]
    (smpp,) = [line for line in lines if line.startswith("smpp ")]
    assert "error: ValueError: unknown SmppSettings keys: windw_size" in smpp
    assert not any(line.startswith("email ") for line in lines)
    assert "disabled: email" in lines
