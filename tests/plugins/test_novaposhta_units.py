"""Nova Poshta mapping of requests and statuses: the parts that need no network."""

from __future__ import annotations

from datetime import date

import pytest

from plugins.novaposhta import NovaPoshtaSettings, waybill
from plugins.novaposhta.statuses import to_state
from server.plugin_api import ShipmentRequest, ShipmentState

CITY = "db5c88d0-391c-11dd-90d9-001a92567626"
WAREHOUSE = "1ec09d88-e1c2-11e3-8c4a-0050568002cf"
SENDER = {"api_key": "k", "sender_ref": "6e9acced-d072-11e3-95eb-0050568046cd",
          "sender_contact_ref": "6e9bd6f8-d072-11e3-95eb-0050568046cd",
          "sender_city_ref": "8d5a980d-391c-11dd-90d9-001a92567626",
          "sender_address_ref": "7b422fc5-e1b8-11e3-8c4a-0050568002cf",
          "sender_phone": "+38 (067) 111-22-33"}


def request(**changes: object) -> ShipmentRequest:
    fields: dict[str, object] = dict(
        order_id="K-1001", recipient_name="Шевченко Олена Петрівна",
        recipient_phone="+380 50 123 45 67", destination=f"{CITY}/{WAREHOUSE}",
        declared_value_minor=123450, currency="UAH", weight_grams=1250)
    fields.update(changes)
    return ShipmentRequest(**fields)  # type: ignore[arg-type]


def test_waybill_properties_map_every_field_exactly() -> None:
    settings = NovaPoshtaSettings.from_mapping({**SENDER, "payer_type": "Sender"})
    props = waybill.document_properties(request(), settings, recipient_ref="R", contact_ref="C",
                                        today=date(2026, 3, 5))
    assert props == {
        "PayerType": "Sender", "PaymentMethod": "Cash", "DateTime": "05.03.2026",
        "CargoType": "Parcel", "Weight": "1.25", "ServiceType": "WarehouseWarehouse",
        "SeatsAmount": "1", "Description": "Товари", "Cost": "1234.5",
        "CitySender": SENDER["sender_city_ref"], "Sender": SENDER["sender_ref"],
        "SenderAddress": SENDER["sender_address_ref"],
        "ContactSender": SENDER["sender_contact_ref"], "SendersPhone": "380671112233",
        "CityRecipient": CITY, "Recipient": "R", "RecipientAddress": WAREHOUSE,
        "ContactRecipient": "C", "RecipientsPhone": "380501234567",
        "InfoRegClientBarcodes": "K-1001"}


def test_recipient_is_a_private_person_in_ukrainian_name_order() -> None:
    assert waybill.recipient_properties(request()) == {
        "FirstName": "Олена", "MiddleName": "Петрівна", "LastName": "Шевченко",
        "Phone": "380501234567", "Email": "", "CounterpartyType": "PrivatePerson",
        "CounterpartyProperty": "Recipient"}


@pytest.mark.parametrize(("value", "exponent", "text"), [
    (1250, 3, "1.25"), (1000, 3, "1"), (1, 3, "0.001"), (123450, 2, "1234.5"),
    (50000, 2, "500"), (7, 2, "0.07"), (0, 2, "0")])
def test_decimal_strings_are_exact(value: int, exponent: int, text: str) -> None:
    assert waybill.decimal_string(value, exponent) == text


@pytest.mark.parametrize(("raw", "phone"), [("+380501234567", "380501234567"),
                                             ("050 123-45-67", "380501234567"),
                                             ("(050) 1234567", "380501234567")])
def test_phones_are_normalised(raw: str, phone: str) -> None:
    assert waybill.phone(raw) == phone


@pytest.mark.parametrize(("changes", "message"), [
    ({"destination": WAREHOUSE}, "destination"), ({"destination": f"{CITY}/nope"}, "destination"),
    ({"recipient_name": "Олена"}, "recipient_name"),
    ({"recipient_phone": "+4470"}, "recipient_phone"),
    ({"weight_grams": 0}, "weight_grams"), ({"weight_grams": 1.5}, "weight_grams"),
    ({"currency": "USD"}, "currency"), ({"declared_value_minor": -1}, "declared_value_minor"),
    ({"order_id": " "}, "order_id")])
def test_bad_requests_are_refused_before_any_call(changes: dict, message: str) -> None:
    settings = NovaPoshtaSettings.from_mapping(SENDER)
    with pytest.raises(ValueError, match=message):
        waybill.validate(request(**changes), settings)


def test_waybills_need_the_sender_references() -> None:
    settings = NovaPoshtaSettings.from_mapping({"api_key": "k"})
    with pytest.raises(ValueError, match=r"novaposhta\.sender_ref.*novaposhta\.sender_phone"):
        waybill.validate(request(), settings)


@pytest.mark.parametrize("raw", [{"api_key": ""}, {"api_key": "k", "payer_type": "Nobody"},
                                 {"api_key": "k", "service_type": "Teleport"},
                                 {"api_key": "k", "seats_amount": "0"},
                                 {"api_key": "k", "retries": "-1"}, {"apikey": "k"}])
def test_bad_settings_fail_loudly(raw: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        NovaPoshtaSettings.from_mapping(raw)


def test_tracking_batches_are_distinct_and_at_most_100() -> None:
    numbers = [f"2045{i:010d}" for i in range(250)] + ["20450000000000"]
    batches = waybill.tracking_batches(numbers)
    assert [len(b) for b in batches] == [100, 100, 50]
    with pytest.raises(ValueError, match="digits"):
        waybill.tracking_batches(["2045 000"])


@pytest.mark.parametrize(("code", "state"), [
    ("1", ShipmentState.CREATED), ("2", ShipmentState.UNKNOWN), ("3", ShipmentState.UNKNOWN),
    ("4", ShipmentState.IN_TRANSIT), ("41", ShipmentState.IN_TRANSIT),
    ("5", ShipmentState.IN_TRANSIT), ("6", ShipmentState.IN_TRANSIT),
    ("7", ShipmentState.ARRIVED), ("8", ShipmentState.ARRIVED),
    ("9", ShipmentState.RECEIVED), ("10", ShipmentState.RECEIVED),
    ("11", ShipmentState.RECEIVED), ("102", ShipmentState.REFUSED),
    ("103", ShipmentState.REFUSED), ("108", ShipmentState.REFUSED),
    ("999", ShipmentState.UNKNOWN), ("", ShipmentState.UNKNOWN)])
def test_status_codes_map_to_states(code: str, state: ShipmentState) -> None:
    assert to_state(code) is state
