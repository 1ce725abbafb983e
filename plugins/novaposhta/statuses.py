"""Nova Poshta tracking ``StatusCode`` (a string) -> the contract's ``ShipmentState``.

The code itself is kept in ``TrackingInfo.provider_status`` for support staff; codes we
do not know map to ``UNKNOWN`` rather than to a guess.
"""

from __future__ import annotations

from server.plugin_api import ShipmentState

_STATES: dict[str, ShipmentState] = {
    "1": ShipmentState.CREATED,     # the sender created the waybill, parcel not handed in
    "12": ShipmentState.CREATED,    # Nova Poshta is packing the parcel
    "2": ShipmentState.UNKNOWN,     # waybill deleted
    "3": ShipmentState.UNKNOWN,     # number not found
    "4": ShipmentState.IN_TRANSIT,  # in the sender's city
    "41": ShipmentState.IN_TRANSIT,  # in the sender's city (local delivery)
    "5": ShipmentState.IN_TRANSIT,  # on the way to the recipient's city
    "6": ShipmentState.IN_TRANSIT,  # in the recipient's city, expected at the warehouse
    "101": ShipmentState.IN_TRANSIT,  # out for delivery to the recipient
    "104": ShipmentState.IN_TRANSIT,  # address changed
    "111": ShipmentState.IN_TRANSIT,  # failed delivery attempt
    "112": ShipmentState.IN_TRANSIT,  # delivery date moved by the recipient
    "7": ShipmentState.ARRIVED,     # arrived at the warehouse
    "8": ShipmentState.ARRIVED,     # arrived at the warehouse (parcel locker)
    "14": ShipmentState.ARRIVED,    # handed to the recipient for inspection
    "9": ShipmentState.RECEIVED,    # received
    "10": ShipmentState.RECEIVED,   # received, money transfer on its way to the sender
    "11": ShipmentState.RECEIVED,   # received, money transfer paid out
    "106": ShipmentState.RECEIVED,  # received, return waybill created
    "102": ShipmentState.REFUSED,   # refused, return ordered by the sender
    "103": ShipmentState.REFUSED,   # refused by the recipient
    "105": ShipmentState.REFUSED,   # storage ended, going back
    "108": ShipmentState.REFUSED,   # refused, going back
}


def to_state(status_code: str) -> ShipmentState:
    return _STATES.get(str(status_code).strip(), ShipmentState.UNKNOWN)
