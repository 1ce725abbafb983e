"""Certificate number series: EAN-13 in the in-store range (20-29) or Code 128.

EAN-13 reuses the loyalty card helpers so a till scanner reads both the same way; Code 128
numbers are an upper-case prefix and a 10-digit sequence (the symbol has its own checksum).
"""

from __future__ import annotations

import re

from server.certificates.model import BarcodeFormat
from server.members.cards import card_number, is_valid_ean13, validate_number_prefix

CODE128_SEQUENCE_DIGITS = 10
_CODE128_PREFIX = re.compile(r"[A-Z0-9]{1,6}")


def prefix_problem(barcode_format: BarcodeFormat, prefix: str) -> str | None:
    """Why `prefix` cannot start numbers of this format, or None."""
    if barcode_format is BarcodeFormat.EAN13:
        return validate_number_prefix(prefix)
    if not _CODE128_PREFIX.fullmatch(prefix):
        return "must be 1 to 6 characters A-Z or 0-9"
    return None


def capacity(barcode_format: BarcodeFormat, prefix: str) -> int:
    """How many numbers the series holds (sequence 1 .. capacity)."""
    digits = CODE128_SEQUENCE_DIGITS
    if barcode_format is BarcodeFormat.EAN13:
        digits = 12 - len(prefix)  # a valid prefix has 2 to 6 digits
    size: int = 10**digits  # typeshed types int ** int as Any (a negative power is a float)
    return size - 1


def certificate_number(barcode_format: BarcodeFormat, prefix: str, sequence: int) -> str:
    """The number of the `sequence`-th certificate of a series."""
    if barcode_format is BarcodeFormat.EAN13:
        return card_number(prefix, sequence)
    if not 1 <= sequence <= capacity(barcode_format, prefix):
        raise ValueError(f"sequence {sequence} does not fit the series {prefix}")
    return f"{prefix}{sequence:0{CODE128_SEQUENCE_DIGITS}d}"


def is_valid_number(barcode_format: BarcodeFormat, number: str) -> bool:
    """True when `number` is well formed for the format (check digit included)."""
    if barcode_format is BarcodeFormat.EAN13:
        return is_valid_ean13(number)
    return re.fullmatch(r"[A-Z0-9]{2,16}", number) is not None


def prefixes_overlap(a: str, b: str) -> bool:
    """True when one prefix starts the other, so two series could produce the same number."""
    return a.startswith(b) or b.startswith(a)


def masked(number: str) -> str:
    """Only the last 4 characters of a certificate number (a bearer instrument): for
    terminals that may be filmed and for histories others read."""
    return "*" * max(0, len(number) - 4) + number[-4:]
