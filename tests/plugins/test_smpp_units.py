"""SMPP text encoding, PDU codec and receipt parsing, without I/O."""

from __future__ import annotations

import pytest

from plugins.smpp.encoding import gsm7_encode, split_message
from plugins.smpp.pdu import Address, Pdu, PduError, ShortMessage, parse_header
from plugins.smpp.receipts import is_receipt, parse_receipt
from plugins.smpp.settings import SmppSettings
from server.plugin_api import DeliveryState


def test_gsm7_uses_the_03_38_table_not_ascii() -> None:
    assert gsm7_encode("A@$_") == b"A\x00\x02\x11"
    assert gsm7_encode("€[") == b"\x1b\x65\x1b\x3c"  # extension table behind ESC
    assert gsm7_encode("Привіт") is None
    assert gsm7_encode("`") is None  # the one printable ASCII character GSM lacks


@pytest.mark.parametrize(("text", "parts", "coding"), [
    ("a" * 160, 1, 0x00), ("a" * 161, 2, 0x00), ("я" * 70, 1, 0x08), ("я" * 71, 2, 0x08),
    ("€" * 80, 1, 0x00), ("€" * 81, 2, 0x00),  # extension characters count twice
])
def test_part_boundaries(text: str, parts: int, coding: int) -> None:
    encoded = split_message(text, reference=9)
    assert len(encoded) == parts and {p.data_coding for p in encoded} == {coding}


def test_escape_pairs_and_surrogates_are_never_split() -> None:
    gsm = split_message("a" * 152 + "€" + "b" * 10, reference=1)
    assert [len(p.short_message) - 6 for p in gsm] == [152, 12]
    ucs2 = split_message("я" * 66 + "🙂" + "я" * 10, reference=1)
    first = ucs2[0].short_message[6:]
    assert len(first) == 132 and first.decode("utf-16-be") == "я" * 66


def test_more_than_255_parts_is_refused() -> None:
    with pytest.raises(ValueError):
        split_message("я" * 67 * 256, reference=1)


def test_short_message_roundtrips_with_tlvs() -> None:
    sm = ShortMessage(Address("Kopilka", 5, 0), Address("380501234567", 1, 1), b"hi",
                      esm_class=0x40, data_coding=8, registered_delivery=1,
                      tlvs={0x001E: b"abc\0"})
    assert ShortMessage.decode(sm.encode()) == sm


def test_address_longer_than_the_spec_allows_is_refused() -> None:
    with pytest.raises(ValueError):
        ShortMessage(Address("x" * 21), Address("1"), b"").encode()


def test_header_rejects_absurd_lengths() -> None:
    header = Pdu(0x15, 0, 1).encode()
    assert parse_header(header) == (16, 0x15, 0, 1)
    with pytest.raises(PduError):
        parse_header(b"\xff\xff\xff\xff" + header[4:])


def receipt(text: bytes, tlvs: dict[int, bytes] | None = None) -> ShortMessage:
    return ShortMessage(Address("380501234567"), Address("Kopilka"), text, esm_class=0x04,
                        tlvs=tlvs or {})


@pytest.mark.parametrize(("stat", "state"), [
    ("DELIVRD", DeliveryState.DELIVERED), ("UNDELIV", DeliveryState.UNDELIVERABLE),
    ("EXPIRED", DeliveryState.EXPIRED), ("REJECTD", DeliveryState.REJECTED),
    ("WEIRD", DeliveryState.UNKNOWN),
])
def test_text_receipt_states(stat: str, state: DeliveryState) -> None:
    text = (f"id:0A1B2C sub:001 dlvrd:000 submit date:2611231200 done date:2611231201 "
            f"stat:{stat} err:069 text:Ваш код").encode()
    report = parse_receipt(receipt(text))
    assert report is not None
    assert (report.provider_message_id, report.state, report.error_code) == (
        "0A1B2C", state, "069")


def test_tlvs_win_over_text() -> None:
    report = parse_receipt(receipt(b"id:old stat:ENROUTE", {
        0x001E: b"new\0", 0x0427: b"\x02", 0x0423: b"\x03\x00\x45"}))
    assert report is not None
    assert (report.provider_message_id, report.state, report.error_code) == (
        "new", DeliveryState.DELIVERED, "030045")


def test_mobile_originated_message_is_not_a_receipt() -> None:
    mo = ShortMessage(Address("380501234567"), Address("Kopilka"), b"STOP")
    assert not is_receipt(mo) and is_receipt(receipt(b"id:1 stat:DELIVRD"))
    assert parse_receipt(receipt(b"stat:DELIVRD")) is None


def test_settings_coerce_strings_from_the_environment() -> None:
    s = SmppSettings.from_mapping({"host": "smsc", "port": "2776", "request_receipts": "no",
                                   "throttle_backoff": "0.5", "source_addr_ton": "1"})
    assert (s.port, s.request_receipts, s.throttle_backoff, s.source_addr_ton) == (
        2776, False, 0.5, 1)
    with pytest.raises(ValueError, match="boolean"):
        SmppSettings.from_mapping({"host": "smsc", "request_receipts": "maybe"})
