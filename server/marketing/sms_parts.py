"""How many billed SMS parts a text takes: GSM-7 (160, 153 per part of a long message,
extension characters count twice) or UCS-2 (70, 67) as soon as one character is outside
GSM 03.38 (docs: /work/shared/contracts/sms-ua.md section 1)."""

from __future__ import annotations

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXTENDED = set("|^€{}[]~\\\f")


def is_gsm7(text: str) -> bool:
    return all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text)


def sms_parts(text: str) -> int:
    """Billed parts of `text` (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        length = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, per_part = 160, 153
    else:
        length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
        single, per_part = 70, 67
    return 1 if length <= single else -(-length // per_part)
