"""SMPP 3.4 PDU framing and the bodies this client sends and reads.

Only what an ESME bound as a transceiver needs: bind_transceiver, submit_sm,
deliver_sm, enquire_link, unbind and their responses, plus generic_nack. Field order and
sizes follow the SMPP v3.4 specification, section 4.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence
MAX_PDU_LENGTH = 64 * 1024  # a sane bound; a longer length means a corrupt stream
RESPONSE_BIT = 0x80000000
INTERFACE_VERSION = 0x34


class Cmd:
    GENERIC_NACK = 0x80000000
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class Status:
    OK = 0x00000000
    INVALID_COMMAND_ID = 0x00000003
    SYSTEM_ERROR = 0x00000008
    MESSAGE_QUEUE_FULL = 0x00000014
    THROTTLED = 0x00000058
    TEMPORARY_APP_ERROR = 0x00000064  # ESME_RX_T_APPN: "try the deliver_sm again later"


class Tag:
    RECEIPTED_MESSAGE_ID = 0x001E
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_STATE = 0x0427


class EsmClass:
    UDHI = 0x40  # short_message starts with a user data header
    TYPE_MASK = 0x3C
    DELIVERY_RECEIPT = 0x04


class PduError(ValueError):
    """The peer sent bytes that are not a well-formed PDU of the expected type."""


@dataclass(frozen=True, slots=True)
class Pdu:
    command_id: int
    status: int
    sequence: int
    body: bytes = b""

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def encode(self) -> bytes:
        return HEADER.pack(HEADER.size + len(self.body), self.command_id, self.status,
                           self.sequence) + self.body


def parse_header(data: bytes) -> tuple[int, int, int, int]:
    """Return (length, command_id, status, sequence) and check the length is sane."""
    length, command_id, status, sequence = HEADER.unpack(data)
    if not HEADER.size <= length <= MAX_PDU_LENGTH:
        raise PduError(f"bad command_length {length}")
    return length, command_id, status, sequence


def cstring(value: str, max_len: int) -> bytes:
    """Encode a NUL-terminated ASCII field; ``max_len`` includes the NUL, as in the spec."""
    raw = value.encode("ascii")
    if len(raw) >= max_len:
        raise ValueError(f"{value!r} is longer than {max_len - 1} characters")
    return raw + b"\0"


class Reader:
    """Sequential reader over a PDU body."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def cstring(self) -> str:
        end = self._data.find(b"\0", self._pos)
        if end < 0:
            raise PduError("unterminated C-octet string")
        value = self._data[self._pos:end].decode("latin-1")
        self._pos = end + 1
        return value

    def u8(self) -> int:
        return self.octets(1)[0]

    def octets(self, count: int) -> bytes:
        if self._pos + count > len(self._data):
            raise PduError("body shorter than its fields")
        value = self._data[self._pos:self._pos + count]
        self._pos += count
        return value

    def tlvs(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        while self._pos < len(self._data):
            tag, length = struct.unpack(">HH", self.octets(4))
            found[tag] = self.octets(length)
        return found


def bind_transceiver(system_id: str, password: str, system_type: str = "",
                     addr_ton: int = 0, addr_npi: int = 0, address_range: str = "") -> bytes:
    return (cstring(system_id, 16) + cstring(password, 9) + cstring(system_type, 13)
            + bytes([INTERFACE_VERSION, addr_ton, addr_npi]) + cstring(address_range, 41))


@dataclass(frozen=True, slots=True)
class Address:
    addr: str
    ton: int = 0
    npi: int = 0


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """The submit_sm/deliver_sm body fields this client uses (mandatory part + TLVs)."""

    source: Address
    destination: Address
    short_message: bytes
    esm_class: int = 0
    data_coding: int = 0
    registered_delivery: int = 0
    service_type: str = ""
    protocol_id: int = 0
    priority_flag: int = 0
    validity_period: str = ""
    tlvs: dict[int, bytes] = field(default_factory=dict)

    def encode(self) -> bytes:
        if len(self.short_message) > 254:
            raise ValueError("short_message is limited to 254 octets")
        return b"".join([
            cstring(self.service_type, 6),
            bytes([self.source.ton, self.source.npi]), cstring(self.source.addr, 21),
            bytes([self.destination.ton, self.destination.npi]),
            cstring(self.destination.addr, 21),
            bytes([self.esm_class, self.protocol_id, self.priority_flag]),
            cstring("", 17),  # schedule_delivery_time: immediately
            cstring(self.validity_period, 17),
            # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
            bytes([self.registered_delivery, 0, self.data_coding, 0]),
            bytes([len(self.short_message)]), self.short_message,
            b"".join(struct.pack(">HH", tag, len(v)) + v for tag, v in self.tlvs.items()),
        ])

    @classmethod
    def decode(cls, body: bytes) -> ShortMessage:
        r = Reader(body)
        service_type = r.cstring()
        source = Address(ton=r.u8(), npi=r.u8(), addr=r.cstring())
        destination = Address(ton=r.u8(), npi=r.u8(), addr=r.cstring())
        esm_class, protocol_id, priority_flag = r.u8(), r.u8(), r.u8()
        r.cstring()  # schedule_delivery_time
        validity_period = r.cstring()
        registered_delivery = r.u8()
        r.u8()  # replace_if_present_flag
        data_coding = r.u8()
        r.u8()  # sm_default_msg_id
        short_message = r.octets(r.u8())
        return cls(source, destination, short_message, esm_class, data_coding,
                   registered_delivery, service_type, protocol_id, priority_flag,
                   validity_period, r.tlvs())


def message_id(body: bytes) -> str:
    """The message_id of a submit_sm_resp; SMSCs may omit the body on errors."""
    return Reader(body).cstring() if body else ""
