"""One line from a scanner -> a Scan: strip framing, check digits, in-store values."""

from __future__ import annotations

import logging

from plugins.barcode import gtin
from plugins.barcode.settings import BarcodeSettings
from server.plugin_api import Scan

log = logging.getLogger(__name__)

#: AIM symbology identifiers ("]E0" ...) that scanners may be set to prepend.
_AIM = {"E0": "EAN-13", "E4": "EAN-8", "C0": "Code 128", "A0": "Code 39", "Q1": "QR Code",
        "d1": "Data Matrix", "I0": "ITF"}


class Decoder:
    """Turns raw lines into Scans; rejects EAN/UPC reads whose check digit is wrong."""

    def __init__(self, settings: BarcodeSettings) -> None:
        self.settings = settings
        self._prefix = settings.unescaped(settings.strip_prefix)
        self._suffix = settings.unescaped(settings.strip_suffix)
        self._embedded = gtin.parse_prefixes(settings.embedded_prefixes)
        self._priced = gtin.parse_prefixes(settings.price_prefixes)
        self.rejected = 0  # misreads dropped so far, for monitoring and tests

    def decode(self, line: str) -> Scan | None:
        code = line.strip()
        if self._prefix and code.startswith(self._prefix):
            code = code[len(self._prefix):]
        if self._suffix and code.endswith(self._suffix):
            code = code[:-len(self._suffix)]
        code = code.strip()
        symbology = None
        if len(code) > 3 and code[0] == "]" and code[1:3] in _AIM:
            symbology, code = _AIM[code[1:3]], code[3:]
        if not code:
            return None
        if code.isdigit() and len(code) in (8, 12, 13, 14):
            if self.settings.verify_check_digits and not gtin.is_valid(code):
                self.rejected += 1
                log.warning("scanner %s: dropped %r (bad check digit)", self.settings.name,
                            code)
                return None
            symbology = symbology or gtin.symbology(code)
        return self._scan(code, symbology)

    def _scan(self, code: str, symbology: str | None) -> Scan:
        name = self.settings.name
        if len(code) != 13 or not code.isdigit() or code[:2] not in self._embedded:
            return Scan(name, code, symbology)
        embedded = gtin.parse_embedded(code, self.settings.embedded_layout)
        if code[:2] in self._priced:
            return Scan(name, code, symbology, item_code=embedded.item_code,
                        price_minor=embedded.value)
        return Scan(name, code, symbology, item_code=embedded.item_code,
                    quantity_milli=embedded.value)
