"""GTIN check digits and in-store (prefix 20-29) EAN-13 with embedded weight or price.

A local helper on purpose: plugins must not import the ``server`` package.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LAYOUT = "PPIIIIIVVVVVC"  # 2X prefix, 5-digit item code, 5-digit value, check


def check_digit(body: str) -> str:
    """GS1 check digit of ``body`` (EAN-8/12/13/14): weights 3,1,3,... from the right."""
    if not body.isdigit():
        raise ValueError("GTIN body must be digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid(code: str) -> bool:
    return len(code) >= 8 and code.isdigit() and check_digit(code[:-1]) == code[-1]


def symbology(code: str) -> str | None:
    """"EAN-13"/"EAN-8" by length for digit strings; None for other lengths."""
    return {13: "EAN-13", 8: "EAN-8"}.get(len(code)) if code.isdigit() else None


@dataclass(frozen=True, slots=True)
class Embedded:
    item_code: str
    value: int  # grams or minor units, depending on the prefix


def validate_layout(layout: str) -> None:
    """A layout is 13 letters: P prefix, I item code, V value, C check, X ignored."""
    if len(layout) != 13 or set(layout) - set("PIVCX") or layout[-1] != "C":
        raise ValueError(f"bad layout {layout!r}: 13 of P/I/V/X ending with C")
    if "I" not in layout or "V" not in layout:
        raise ValueError(f"bad layout {layout!r}: needs item (I) and value (V) digits")


def parse_embedded(code: str, layout: str = DEFAULT_LAYOUT) -> Embedded:
    """Split an in-store EAN-13 by ``layout`` (the check digit is verified elsewhere)."""
    item = "".join(d for d, role in zip(code, layout, strict=True) if role == "I")
    value = "".join(d for d, role in zip(code, layout, strict=True) if role == "V")
    return Embedded(item, int(value))


def parse_prefixes(spec: str) -> frozenset[str]:
    """"20-29" or "21,22,25-27" -> the two-digit prefixes it names."""
    found: set[str] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 20 <= first <= last <= 29:
            raise ValueError(f"in-store prefixes are 20-29, got {part!r}")
        found.update(str(n) for n in range(first, last + 1))
    return frozenset(found)
