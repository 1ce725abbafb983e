"""Delivery receipts: deliver_sm with esm_class "SMSC delivery receipt" -> DeliveryReport.

SMSCs report in the text format of SMPP 3.4 Appendix B ("id:... sub:... stat:DELIVRD
err:000 ...") and/or in the receipted_message_id and message_state TLVs; TLVs win when
both are present because they are not free text.
"""

from __future__ import annotations

import re

from plugins.smpp.pdu import EsmClass, ShortMessage, Tag
from server.plugin_api import DeliveryReport, DeliveryState

_TEXT_STATES = {
    "ENROUTE": DeliveryState.ENROUTE,
    "DELIVRD": DeliveryState.DELIVERED,
    "EXPIRED": DeliveryState.EXPIRED,
    "DELETED": DeliveryState.DELETED,
    "UNDELIV": DeliveryState.UNDELIVERABLE,
    "ACCEPTD": DeliveryState.ACCEPTED,
    "UNKNOWN": DeliveryState.UNKNOWN,
    "REJECTD": DeliveryState.REJECTED,
}
_TLV_STATES = dict(enumerate(
    [DeliveryState.ENROUTE, DeliveryState.DELIVERED, DeliveryState.EXPIRED,
     DeliveryState.DELETED, DeliveryState.UNDELIVERABLE, DeliveryState.ACCEPTED,
     DeliveryState.UNKNOWN, DeliveryState.REJECTED], start=1))
_FIELD = re.compile(r"\b(id|stat|err):(\S*)", re.IGNORECASE)


def is_receipt(message: ShortMessage) -> bool:
    return message.esm_class & EsmClass.TYPE_MASK == EsmClass.DELIVERY_RECEIPT


def parse_receipt(message: ShortMessage, channel: str = "sms") -> DeliveryReport | None:
    """Return the report carried by a receipt, or None if it names no message id."""
    text = message.short_message.decode("latin-1")
    fields = {key.lower(): value for key, value in _FIELD.findall(text)}
    message_id = fields.get("id", "")
    if Tag.RECEIPTED_MESSAGE_ID in message.tlvs:
        message_id = message.tlvs[Tag.RECEIPTED_MESSAGE_ID].rstrip(b"\0").decode("latin-1")
    if not message_id:
        return None
    state = _TEXT_STATES.get(fields.get("stat", "").upper(), DeliveryState.UNKNOWN)
    if len(raw_state := message.tlvs.get(Tag.MESSAGE_STATE, b"")) == 1:
        state = _TLV_STATES.get(raw_state[0], DeliveryState.UNKNOWN)
    error = fields.get("err")
    if len(network_error := message.tlvs.get(Tag.NETWORK_ERROR_CODE, b"")) == 3:
        error = network_error.hex()
    return DeliveryReport(channel, message_id, state, error, text)
