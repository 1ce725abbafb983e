"""Configuration of the serial barcode scanner (the ``barcode`` settings section)."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugins.barcode.gtin import DEFAULT_LAYOUT, parse_prefixes, validate_layout
from server.plugin_api import settings_from_mapping


@dataclass(frozen=True, slots=True)
class BarcodeSettings:
    """``port`` is a device path (/dev/ttyUSB0, /dev/serial/by-id/...) or a pyserial URL.

    Text values accept backslash escapes ("\\\\r\\\\n", "\\\\x02"), since scanners are
    programmed with control characters. ``terminators``: any of these characters ends a
    code. ``strip_prefix``/``strip_suffix``: fixed text the scanner adds around codes.
    ``embedded_prefixes``: in-store EAN-13 prefixes with an embedded value, split by
    ``embedded_layout``; those in ``price_prefixes`` carry a price (minor units), the
    others a weight in grams. Exclude the prefixes your loyalty cards use.
    """

    port: str
    name: str = "scanner"
    baudrate: int = 9600
    terminators: str = "\\r\\n"
    strip_prefix: str = ""
    strip_suffix: str = ""
    encoding: str = "latin-1"
    verify_check_digits: bool = True
    embedded_prefixes: str = "20-29"
    price_prefixes: str = ""
    embedded_layout: str = DEFAULT_LAYOUT
    reconnect_delay: float = 1.0
    read_timeout: float = 0.1  # how often a blocked read looks at close()
    max_length: int = 256  # a line longer than this without terminator is noise

    def __post_init__(self) -> None:
        validate_layout(self.embedded_layout)
        parse_prefixes(self.embedded_prefixes)
        parse_prefixes(self.price_prefixes)
        if not self.unescaped(self.terminators):
            raise ValueError("barcode.terminators must name at least one character")
        codecs.lookup(self.encoding)

    @staticmethod
    def unescaped(value: str) -> str:
        return codecs.decode(value, "unicode_escape") if "\\" in value else value

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> BarcodeSettings:
        return settings_from_mapping(cls, raw)
