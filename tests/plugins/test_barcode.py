"""The serial barcode scanner: GTIN rules, then real ptys and pyserial's loop:// port."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plugins.barcode import BarcodeSettings, SerialScanner
from plugins.barcode.decode import Decoder
from plugins.barcode.gtin import check_digit, is_valid, parse_embedded, parse_prefixes
from server.plugin_api import Scan
from server.plugin_host import PluginHost, build_plugin_manager

FAST = {"reconnect_delay": 0.05, "read_timeout": 0.02}


def ean(body: str) -> str:
    return body + check_digit(body)


def test_check_digits_of_real_codes() -> None:
    assert check_digit("482001625001") == "7" and is_valid("4820016250017")
    assert is_valid("96385074") and not is_valid("96385075")  # EAN-8
    assert is_valid("5901234123457") and not is_valid("5901234123458")
    assert not is_valid("ABCDEFGH") and not is_valid("1234567")


def test_prefix_and_layout_settings() -> None:
    assert parse_prefixes("21,25-27") == {"21", "25", "26", "27"}
    for bad in ("19-22", "30", "2x"):
        with pytest.raises(ValueError):
            parse_prefixes(bad)
    assert parse_embedded("2312345012343") == parse_embedded("2312345012343", "PPIIIIIVVVVVC")
    with pytest.raises(ValueError, match="bad layout"):
        BarcodeSettings(port="loop://", embedded_layout="PPIIIIIVVVVVV")
    with pytest.raises(ValueError, match="terminators"):
        BarcodeSettings(port="loop://", terminators="")


def decode(line: str, **settings: str) -> Scan | None:
    return Decoder(BarcodeSettings.from_mapping({"port": "loop://", **settings})).decode(line)


def test_decoding_rules() -> None:
    weight = ean("231234501234")  # prefix 23, item 12345, 1.234 kg
    scan = decode(weight)
    assert scan and (scan.code, scan.symbology, scan.item_code, scan.quantity_milli,
                     scan.price_minor) == (weight, "EAN-13", "12345", 1234, None)
    price = ean("220004204599")  # prefix 22 as price: item 00042, 45.99 UAH
    scan = decode(price, price_prefixes="22")
    assert scan and (scan.item_code, scan.price_minor, scan.quantity_milli) == ("00042", 4599,
                                                                                None)
    card = ean("210000000042")  # a loyalty card range left out of the embedded prefixes
    scan = decode(card, embedded_prefixes="22-29")
    assert scan and (scan.code, scan.item_code) == (card, None)
    scan = decode(ean("231234560123"), embedded_layout="PPIIIIIIVVVVC")
    assert scan and (scan.item_code, scan.quantity_milli) == ("123456", 123)
    framed = decode("\x02*4820016250017#", strip_prefix="\\x02*", strip_suffix="#")
    assert framed and (framed.source, framed.code, framed.symbology) == (
        "scanner", "4820016250017", "EAN-13")
    assert decode("]E04820016250017").symbology == "EAN-13"  # type: ignore[union-attr]
    assert decode("]C0ORDER-42/A").code == "ORDER-42/A"  # type: ignore[union-attr]
    assert decode("4820016250018") is None  # misread: wrong check digit
    unchecked = decode("4820016250018", verify_check_digits="false")
    assert unchecked and unchecked.code == "4820016250018"
    assert decode("   ") is None


async def collect(scanner: SerialScanner, count: int, timeout: float = 1.5) -> list[Scan]:
    found: list[Scan] = []

    async def run() -> None:
        async for scan in scanner.scans():
            found.append(scan)
            if len(found) == count:
                return

    await asyncio.wait_for(run(), timeout)
    return found


@pytest.fixture
async def pty_pair() -> AsyncIterator[tuple[int, str]]:
    """(master fd to type into, slave device path the scanner opens), a real tty."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    yield master, path
    with contextlib.suppress(OSError):
        os.close(master)


async def test_reads_a_real_tty_with_cr_lf_and_split_writes(pty_pair) -> None:
    master, path = pty_pair
    scanner = SerialScanner(BarcodeSettings.from_mapping({"port": path, **FAST}))
    await scanner.open()
    try:
        os.write(master, b"4820016250017\r\n48200")
        reading = asyncio.ensure_future(collect(scanner, 3))
        await asyncio.sleep(0.05)
        os.write(master, b"16250024\r4820016250018\n" + ean("231234501234").encode() + b"\n")
        scans = await reading
    finally:
        await scanner.close()
    assert [(s.code, s.source) for s in scans[:2]] == [("4820016250017", "scanner"),
                                                      ("4820016250024", "scanner")]
    assert (scans[2].item_code, scans[2].quantity_milli) == ("12345", 1234)
    assert scanner.decoder.rejected == 1


async def test_reconnects_when_the_device_disappears(tmp_path: Path, pty_pair) -> None:
    master, path = pty_pair
    link = tmp_path / "ttyUSB0"  # like /dev/serial/by-id/...: same name after replugging
    link.symlink_to(path)
    scanner = SerialScanner(BarcodeSettings.from_mapping({"port": str(link), **FAST}))
    await scanner.open()
    try:
        os.write(master, b"4820016250017\n")
        assert [s.code for s in await collect(scanner, 1)] == ["4820016250017"]
        os.close(master)  # unplugged: the scanner's reads fail
        reading = asyncio.ensure_future(collect(scanner, 1))
        await asyncio.sleep(0.15)
        new_master, new_slave = os.openpty()
        link.unlink()
        link.symlink_to(os.ttyname(new_slave))
        os.close(new_slave)
        while scanner.connections < 2:  # plugged back in: wait for the reopen
            await asyncio.sleep(0.02)
        os.write(new_master, b"96385074\r\n")
        assert [s.code for s in await reading] == ["96385074"]
        os.close(new_master)
    finally:
        await scanner.close()


async def test_loop_url_and_close_ends_the_stream() -> None:
    scanner = SerialScanner(BarcodeSettings.from_mapping({
        "port": "loop://", "terminators": "\\t", **FAST}))
    port = await scanner.open()
    port.write(b"4820016250017\t]C0K-LOYALTY-7\t")
    assert [(s.code, s.symbology) for s in await collect(scanner, 2)] == [
        ("4820016250017", "EAN-13"), ("K-LOYALTY-7", "Code 128")]
    waiting = asyncio.ensure_future(collect(scanner, 1))
    await asyncio.sleep(0.05)
    await scanner.close()
    assert await asyncio.wait_for(waiting, 0.5) == []


async def test_registered_through_pluggy() -> None:
    pm = build_plugin_manager(load_entry_points=False, environ={})
    assert pm.get_plugin("barcode") is not None  # a built-in: loaded from its entry point
    assert PluginHost(pm, {}).scanner_sources() == {}
    sources = PluginHost(pm, {"barcode": {"scanners": [
        {"port": "loop://", "name": "till-1"}, {"port": "/dev/ttyUSB1", "name": "till-2"}]}}
    ).scanner_sources()
    assert sorted(sources) == ["till-1", "till-2"]
    assert isinstance(sources["till-1"], SerialScanner)
    with pytest.raises(ValueError, match="unknown BarcodeSettings keys: baud"):
        PluginHost(pm, {"barcode": {"port": "loop://", "baud": "9600"}}).scanner_sources()
