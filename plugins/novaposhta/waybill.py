"""Pure mapping of a ``ShipmentRequest`` to Nova Poshta ``methodProperties``.

Everything is validated here, before any network call, so a bad request sends nothing.
Quantities stay exact: grams become a decimal kilogram string, kopecks a decimal
hryvnia string, never through floats.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from plugins.novaposhta.settings import SENDER_FIELDS, NovaPoshtaSettings
from server.plugin_api import ShipmentRequest

_REF = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_DOCUMENTS_PER_CALL = 100  # TrackingDocument.getStatusDocuments limit


def destination_refs(destination: str) -> tuple[str, str]:
    """``"CITY_REF/WAREHOUSE_REF"`` -> both Nova Poshta refs (GUIDs)."""
    city, sep, warehouse = destination.strip().partition("/")
    if not sep or not _REF.match(city) or not _REF.match(warehouse):
        raise ValueError("destination must be 'CITY_REF/WAREHOUSE_REF' (Nova Poshta GUIDs)")
    return city, warehouse


def split_name(full_name: str) -> tuple[str, str, str]:
    """"Last First [Middle]" (Ukrainian order) -> (last, first, middle)."""
    parts = full_name.split()
    if len(parts) < 2:
        raise ValueError("recipient_name needs a last and a first name")
    return parts[0], parts[1], " ".join(parts[2:])


def phone(number: str, field: str = "recipient_phone") -> str:
    """A Ukrainian mobile number as Nova Poshta wants it: ``380XXXXXXXXX``."""
    digits = re.sub(r"[\s()+-]", "", number)
    if digits.startswith("0") and len(digits) == 10:
        digits = "38" + digits
    if not (digits.isdigit() and len(digits) == 12 and digits.startswith("380")):
        raise ValueError(f"{field} must be a Ukrainian number like +380XXXXXXXXX")
    return digits


def decimal_string(value: int, exponent: int) -> str:
    """Exact ``value / 10**exponent`` without trailing zeros: 1500, 3 -> "1.5"."""
    major, minor = divmod(value, 10**exponent)
    fraction = f"{minor:0{exponent}d}".rstrip("0")
    return f"{major}.{fraction}" if fraction else str(major)


def weight_kg(grams: int) -> str:
    if isinstance(grams, bool) or not isinstance(grams, int) or grams <= 0:
        raise ValueError("weight_grams must be a positive integer")
    return decimal_string(grams, 3)


def cost_uah(amount_minor: int, currency: str) -> str:
    if currency != "UAH":
        raise ValueError("currency must be UAH: Nova Poshta declares values in hryvnias")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 0:
        raise ValueError("declared_value_minor must be a non-negative integer")
    return decimal_string(amount_minor, 2)


def recipient_properties(request: ShipmentRequest) -> dict[str, str]:
    """``Counterparty.save`` for a private-person recipient (returns Ref + ContactPerson)."""
    last, first, middle = split_name(request.recipient_name)
    return {"FirstName": first, "MiddleName": middle, "LastName": last,
            "Phone": phone(request.recipient_phone), "Email": "",
            "CounterpartyType": "PrivatePerson", "CounterpartyProperty": "Recipient"}


def check_sender(settings: NovaPoshtaSettings) -> None:
    missing = [f"novaposhta.{key}" for key in SENDER_FIELDS if not getattr(settings, key)]
    if missing:
        raise ValueError(f"creating waybills needs {', '.join(missing)} in the settings")


def document_properties(request: ShipmentRequest, settings: NovaPoshtaSettings, *,
                        recipient_ref: str, contact_ref: str, today: date) -> dict[str, Any]:
    """``InternetDocument.save`` properties for one warehouse-to-warehouse parcel."""
    city_ref, warehouse_ref = destination_refs(request.destination)
    s = settings
    return {
        "PayerType": s.payer_type,
        "PaymentMethod": s.payment_method,
        "DateTime": today.strftime("%d.%m.%Y"),
        "CargoType": s.cargo_type,
        "Weight": weight_kg(request.weight_grams),
        "ServiceType": s.service_type,
        "SeatsAmount": str(s.seats_amount),
        "Description": s.description,
        "Cost": cost_uah(request.declared_value_minor, request.currency),
        "CitySender": s.sender_city_ref,
        "Sender": s.sender_ref,
        "SenderAddress": s.sender_address_ref,
        "ContactSender": s.sender_contact_ref,
        "SendersPhone": phone(s.sender_phone, "novaposhta.sender_phone"),
        "CityRecipient": city_ref,
        "Recipient": recipient_ref,
        "RecipientAddress": warehouse_ref,
        "ContactRecipient": contact_ref,
        "RecipientsPhone": phone(request.recipient_phone),
        "InfoRegClientBarcodes": request.order_id,  # our order number, shown on the label
    }


def backward_delivery(cod_minor: int, currency: str) -> list[dict[str, str]]:
    """Cash on delivery as Nova Poshta's backward delivery of money (contract section 5):
    the recipient pays the amount, Nova Poshta brings it back to the sender."""
    if isinstance(cod_minor, bool) or not isinstance(cod_minor, int) or cod_minor <= 0:
        raise ValueError("cash on delivery must be a positive integer amount")
    return [{"PayerType": "Recipient", "CargoType": "Money",
             "RedeliveryString": cost_uah(cod_minor, currency)}]


def validate(request: ShipmentRequest, settings: NovaPoshtaSettings) -> None:
    """Everything ``document_properties`` would reject, checked before any call."""
    check_sender(settings)
    if not request.order_id.strip():
        raise ValueError("order_id must not be empty")
    document_properties(request, settings, recipient_ref="", contact_ref="",
                        today=date(2000, 1, 1))
    recipient_properties(request)


def tracking_batches(numbers: list[str]) -> list[list[str]]:
    """Distinct waybill numbers in batches the API accepts."""
    for number in numbers:
        if not number.isdigit():
            raise ValueError(f"tracking number {number!r} must be digits only")
    distinct = list(dict.fromkeys(numbers))
    return [distinct[i:i + MAX_DOCUMENTS_PER_CALL]
            for i in range(0, len(distinct), MAX_DOCUMENTS_PER_CALL)]
