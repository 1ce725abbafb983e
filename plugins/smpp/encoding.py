"""Text to SMPP short_message parts: GSM 03.38 when possible, UCS2 otherwise.

GSM-7 (data_coding 0x00, unpacked: one septet per octet, as SMPP carries it) fits 160
characters per SMS; Cyrillic needs UCS2 (data_coding 0x08, UTF-16BE) at 70. Longer text
is split into parts prefixed with a concatenation UDH (IEI 0x00, 8-bit reference) and the
esm_class UDHI flag, so handsets reassemble them: 153 septets or 67 UCS2 units per part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plugins.smpp.pdu import EsmClass

DATA_CODING_DEFAULT = 0x00
DATA_CODING_UCS2 = 0x08

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                   "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_ESCAPE = 0x1B
_GSM7_CODES = {char: code for code, char in enumerate(_GSM7_BASIC) if code != _ESCAPE}

SINGLE_GSM7, PART_GSM7 = 160, 153  # septets
SINGLE_UCS2, PART_UCS2 = 70, 67  # UTF-16 code units


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm worth of payload, ready for the short_message field."""

    short_message: bytes
    data_coding: int
    esm_class: int


def gsm7_encode(text: str) -> bytes | None:
    """Unpacked GSM 03.38 septets, or None if a character is outside the alphabet."""
    out = bytearray()
    for char in text:
        if (code := _GSM7_CODES.get(char)) is not None:
            out.append(code)
        elif (ext := _GSM7_EXTENSION.get(char)) is not None:
            out += bytes([_ESCAPE, ext])
        else:
            return None
    return bytes(out)


_GSM7_EXTENSION_CHARS = {code: char for char, code in _GSM7_EXTENSION.items()}


def decode_text(short_message: bytes, data_coding: int) -> str:
    """The text of a mobile-originated message: UCS2, or unpacked GSM 03.38 (Latin-1 for
    other codings, which SMSCs use for plain ASCII)."""
    if data_coding == DATA_CODING_UCS2:
        return short_message.decode("utf-16-be", errors="replace")
    if data_coding != DATA_CODING_DEFAULT:
        return short_message.decode("latin-1")
    out: list[str] = []
    escaped = False
    for octet in short_message:
        if escaped:
            out.append(_GSM7_EXTENSION_CHARS.get(octet, " "))
            escaped = False
        elif octet == _ESCAPE:
            escaped = True
        elif octet < len(_GSM7_BASIC):
            out.append(_GSM7_BASIC[octet])
    return "".join(out)


def split_message(text: str, reference: int) -> list[Part]:
    """Encode ``text`` into one part, or several concatenated parts sharing ``reference``."""
    if (septets := gsm7_encode(text)) is not None:
        chunks = _chunks(septets, SINGLE_GSM7, PART_GSM7, _gsm7_boundary_ok, 1)
        coding = DATA_CODING_DEFAULT
    else:
        chunks = _chunks(text.encode("utf-16-be"), 2 * SINGLE_UCS2, 2 * PART_UCS2,
                         _ucs2_boundary_ok, 2)
        coding = DATA_CODING_UCS2
    if len(chunks) == 1:
        return [Part(chunks[0], coding, 0)]
    if len(chunks) > 255:
        raise ValueError("text needs more than 255 SMS parts")
    return [
        Part(bytes([0x05, 0x00, 0x03, reference & 0xFF, len(chunks), seq]) + chunk,
             coding, EsmClass.UDHI)
        for seq, chunk in enumerate(chunks, start=1)
    ]


def _chunks(data: bytes, single: int, size: int,
            boundary_ok: Callable[[bytes, int], bool], step: int) -> list[bytes]:
    if len(data) <= single:
        return [data]
    chunks, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and not boundary_ok(data, end):
            end -= step
        chunks.append(data[start:end])
        start = end
    return chunks


def _gsm7_boundary_ok(data: bytes, cut: int) -> bool:
    """Never split an escape pair: ESC only ever leads an extension character."""
    return data[cut - 1] != _ESCAPE


def _ucs2_boundary_ok(data: bytes, cut: int) -> bool:
    """Never split a surrogate pair (emoji): the next unit must not be a low surrogate."""
    return not 0xDC <= data[cut] <= 0xDF
