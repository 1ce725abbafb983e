"""The Nova Poshta provider against a fake API 2.0 server on loopback.

There is no local Nova Poshta, so the fake follows the published contract: one JSON
endpoint taking ``{apiKey, modelName, calledMethod, methodProperties}``, answering HTTP
200 with ``success``/``data``/``errors``/``warnings``/``info`` and the ``*Codes`` lists.
It checks the key, the model and method, the required properties and the references
(sender, recipient counterparty and contact, cities, warehouses), keeps waybills and
their tracking status, and can be told to answer 429/5xx first.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from aiohttp import web

from plugins import novaposhta
from plugins.novaposhta import NovaPoshtaError
from server.plugin_api import ShipmentRequest, ShipmentState
from server.plugin_host import PluginHost, build_plugin_manager

API_KEY = "c2d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7"
TODAY = date(2026, 3, 5)
SENDER_REF, SENDER_CONTACT = str(uuid.uuid4()), str(uuid.uuid4())
SENDER_CITY, SENDER_WAREHOUSE = str(uuid.uuid4()), str(uuid.uuid4())
KYIV, KYIV_WAREHOUSE_1 = str(uuid.uuid4()), str(uuid.uuid4())
PHONE = re.compile(r"^380\d{9}$")
STATUS_TEXT = {"1": "Відправник самостійно створив цю накладну, але ще не надав до відправки",
               "3": "Номер не знайдено", "5": "Відправлення прямує до міста",
               "7": "Прибув на відділення", "9": "Відправлення отримано",
               "103": "Відмова одержувача"}
DOCUMENT_FIELDS = ("PayerType", "PaymentMethod", "DateTime", "CargoType", "Weight",
                   "ServiceType", "SeatsAmount", "Description", "Cost", "CitySender", "Sender",
                   "SenderAddress", "ContactSender", "SendersPhone", "CityRecipient",
                   "Recipient", "RecipientAddress", "ContactRecipient", "RecipientsPhone")
ENUMS = {"PayerType": {"Sender", "Recipient", "ThirdPerson"},
         "PaymentMethod": {"Cash", "NonCash"},
         "CargoType": {"Parcel", "Cargo", "Documents", "TiresWheels", "Pallet"},
         "ServiceType": {"WarehouseWarehouse", "WarehouseDoors", "DoorsWarehouse",
                         "DoorsDoors"}}


def answer(data: list[Any] | None = None, errors: list[str] | None = None,
           codes: list[str] | None = None) -> web.Response:
    return web.json_response({
        "success": not errors, "data": data or [], "errors": errors or [], "warnings": [],
        "info": [], "messageCodes": [], "errorCodes": codes or [], "warningCodes": [],
        "infoCodes": []})


@dataclass
class FakeNovaPoshta:
    warehouses: dict[str, str] = field(default_factory=lambda: {
        SENDER_WAREHOUSE: SENDER_CITY, KYIV_WAREHOUSE_1: KYIV})
    counterparties: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)  # contact ref -> counterparty ref
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # number -> waybill
    faults: list[tuple[int, str | None]] = field(default_factory=list)  # (status, Retry-After)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    http_hits: int = 0
    _numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(20450000000001))

    async def handle(self, request: web.Request) -> web.Response:
        self.http_hits += 1
        if self.faults:
            status, retry_after = self.faults.pop(0)
            headers = {"Retry-After": retry_after} if retry_after else {}
            return web.Response(status=status, text="busy", headers=headers)
        try:
            body = await request.json()
        except ValueError:
            return answer(errors=["Data is invalid"])
        if not isinstance(body, dict) or not isinstance(body.get("methodProperties"), dict):
            return answer(errors=["MethodProperties is invalid"])
        if body.get("apiKey") != API_KEY:
            return answer(errors=["API key is invalid"], codes=["NP_FAKE_API_KEY"])
        model, method = body.get("modelName"), body.get("calledMethod")
        handler = {("Counterparty", "save"): self.counterparty_save,
                   ("InternetDocument", "save"): self.document_save,
                   ("TrackingDocument", "getStatusDocuments"): self.status_documents,
                   }.get((model, method))
        if handler is None:
            return answer(errors=[f"Method {model}.{method} does not exist"])
        self.calls.append((model, method, body["methodProperties"]))
        return handler(body["methodProperties"])

    def counterparty_save(self, props: dict[str, Any]) -> web.Response:
        for key in ("FirstName", "LastName", "Phone", "CounterpartyType",
                    "CounterpartyProperty"):
            if not props.get(key):
                return answer(errors=[f"{key} is empty"])
        if props["CounterpartyType"] != "PrivatePerson" or \
                props["CounterpartyProperty"] != "Recipient":
            return answer(errors=["CounterpartyType or CounterpartyProperty is invalid"])
        if not PHONE.match(props["Phone"]):
            return answer(errors=["Phone is invalid"])
        key = (props["LastName"], props["FirstName"], props["Phone"])
        if key not in self.counterparties:  # Nova Poshta returns the existing recipient
            ref, contact = str(uuid.uuid4()), str(uuid.uuid4())
            name = f"{props['LastName']} {props['FirstName']} {props.get('MiddleName', '')}"
            self.contacts[contact] = ref
            self.counterparties[key] = {
                "Ref": ref, "Description": "Приватна особа", "FirstName": props["FirstName"],
                "MiddleName": props.get("MiddleName", ""), "LastName": props["LastName"],
                "Counterparty": "", "OwnershipForm": "", "OwnershipFormDescription": "",
                "EDRPOU": "", "CounterpartyType": "PrivatePerson",
                "ContactPerson": {"success": True, "data": [{
                    "Ref": contact, "Description": name.strip(),
                    "LastName": props["LastName"], "FirstName": props["FirstName"],
                    "MiddleName": props.get("MiddleName", "")}],
                    "errors": [], "warnings": [], "info": []}}
        return answer([self.counterparties[key]])

    def document_save(self, p: dict[str, Any]) -> web.Response:
        missing = [key for key in DOCUMENT_FIELDS if not p.get(key)]
        if missing:
            return answer(errors=[f"{key} is empty" for key in missing])
        problems = [f"{key} is invalid" for key, allowed in ENUMS.items()
                    if p[key] not in allowed]
        try:
            if datetime.strptime(p["DateTime"], "%d.%m.%Y").date() < TODAY:
                problems.append("DateTime is in the past")
        except ValueError:
            problems.append("DateTime has invalid format")
        if not _decimal_at_least(p["Weight"], "0.1"):
            problems.append("Weight is invalid")
        if not _decimal_at_least(p["Cost"], "0"):
            problems.append("Cost is invalid")
        if not str(p["SeatsAmount"]).isdigit() or int(p["SeatsAmount"]) < 1:
            problems.append("SeatsAmount is invalid")
        if (p["Sender"], p["ContactSender"]) != (SENDER_REF, SENDER_CONTACT):
            problems.append("Sender or ContactSender is invalid")
        if self.contacts.get(p["ContactRecipient"]) != p["Recipient"]:
            problems.append("ContactRecipient is invalid")
        for city, warehouse in (("CitySender", "SenderAddress"),
                                ("CityRecipient", "RecipientAddress")):
            if self.warehouses.get(p[warehouse]) != p[city]:
                problems.append(f"{warehouse} is invalid")
        for key in ("SendersPhone", "RecipientsPhone"):
            if not PHONE.match(str(p[key])):
                problems.append(f"{key} is invalid")
        if problems:
            return answer(errors=problems)
        number = str(next(self._numbers))
        self.documents[number] = {**p, "StatusCode": "1"}
        return answer([{"Ref": str(uuid.uuid4()), "CostOnSite": 70,
                        "EstimatedDeliveryDate": "07.03.2026", "IntDocNumber": number,
                        "TypeDocument": "InternetDocument"}])

    def status_documents(self, props: dict[str, Any]) -> web.Response:
        documents = props.get("Documents")
        if not isinstance(documents, list) or not documents:
            return answer(errors=["Documents is empty"])
        if len(documents) > 100:
            return answer(errors=["Documents limit exceeded (100)"])
        data = []
        for doc in documents:
            number = str(doc.get("DocumentNumber", "")) if isinstance(doc, dict) else ""
            code = self.documents.get(number, {}).get("StatusCode", "3")
            data.append({"Number": number, "StatusCode": code, "Status": STATUS_TEXT[code],
                         "WarehouseRecipient": "Відділення №1", "CityRecipient": "Київ"})
        return answer(data)


def _decimal_at_least(text: Any, minimum: str) -> bool:
    try:
        return Decimal(str(text)) >= Decimal(minimum)
    except InvalidOperation:
        return False


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeNovaPoshta, int]]:
    np = FakeNovaPoshta()
    app = web.Application()
    app.router.add_post("/v2.0/json/", np.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield np, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


class Sleeps(list[float]):
    """Records backoff delays instead of waiting them out."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


def provider_for(port: int, sleeps: Sleeps | None = None, **extra: str) -> Any:
    pm = build_plugin_manager(load_entry_points=False, environ={})
    if pm.get_plugin("novaposhta") is None:
        pm.register(novaposhta, name="novaposhta")
    pm.check_pending()
    section = {"api_key": API_KEY, "api_url": f"http://127.0.0.1:{port}/v2.0/json/",
               "sender_ref": SENDER_REF, "sender_contact_ref": SENDER_CONTACT,
               "sender_city_ref": SENDER_CITY, "sender_address_ref": SENDER_WAREHOUSE,
               "sender_phone": "+380671112233", "timeout": "2", "retries": "3",
               "backoff": "0.25", "backoff_max": "1", **extra}
    provider = PluginHost(pm, {"novaposhta": section}).shipment_providers()["novaposhta"]
    provider._today = lambda: TODAY  # the fake refuses past dates; pin "today"
    if sleeps is not None:
        provider.client._sleep = sleeps
    return provider


def parcel(**changes: Any) -> ShipmentRequest:
    fields: dict[str, Any] = dict(
        order_id="K-1001", recipient_name="Шевченко Олена Петрівна",
        recipient_phone="+380501234567", destination=f"{KYIV}/{KYIV_WAREHOUSE_1}",
        declared_value_minor=123450, currency="UAH", weight_grams=1250)
    fields.update(changes)
    return ShipmentRequest(**fields)


async def test_create_waybill_then_track_it_through_delivery(fake) -> None:
    np, port = fake
    provider = provider_for(port)
    shipment = await provider.create_shipment(parcel())
    assert (shipment.provider, shipment.order_id) == ("novaposhta", "K-1001")
    saved = np.documents[shipment.tracking_number]
    assert (saved["Weight"], saved["Cost"], saved["DateTime"]) == ("1.25", "1234.5", "05.03.2026")
    assert saved["RecipientAddress"] == KYIV_WAREHOUSE_1
    assert saved["InfoRegClientBarcodes"] == "K-1001"
    for code, state in (("1", ShipmentState.CREATED), ("5", ShipmentState.IN_TRANSIT),
                        ("7", ShipmentState.ARRIVED), ("9", ShipmentState.RECEIVED)):
        np.documents[shipment.tracking_number]["StatusCode"] = code
        (info,) = await provider.track([shipment.tracking_number])
        assert (info.tracking_number, info.state, info.provider_status) == (
            shipment.tracking_number, state, code)


async def test_same_recipient_is_reused_for_a_second_parcel(fake) -> None:
    np, port = fake
    provider = provider_for(port)
    first = await provider.create_shipment(parcel())
    second = await provider.create_shipment(parcel(order_id="K-1002"))
    assert first.tracking_number != second.tracking_number
    assert len(np.counterparties) == 1


async def test_tracking_is_batched_by_100_and_answers_in_the_order_asked(fake) -> None:
    np, port = fake
    provider = provider_for(port)
    refused = (await provider.create_shipment(parcel())).tracking_number
    np.documents[refused]["StatusCode"] = "103"
    numbers = [f"5900{i:010d}" for i in range(230)] + [refused, "59000000000000"]
    infos = await provider.track(numbers)
    batches = [len(props["Documents"]) for _, method, props in np.calls
               if method == "getStatusDocuments"]
    assert batches == [100, 100, 31]  # 231 distinct numbers
    assert [i.tracking_number for i in infos] == numbers
    assert infos[230].state is ShipmentState.REFUSED
    assert {i.state for i in infos[:230]} == {ShipmentState.UNKNOWN}
    assert infos[0].provider_status == "3"


async def test_a_refused_call_raises_a_clear_provider_error(fake) -> None:
    np, port = fake
    provider = provider_for(port)
    np.warehouses.pop(KYIV_WAREHOUSE_1)  # the warehouse closed
    with pytest.raises(NovaPoshtaError, match="RecipientAddress is invalid") as caught:
        await provider.create_shipment(parcel())
    assert not caught.value.retryable and caught.value.errors == ("RecipientAddress is invalid",)
    assert np.documents == {}


async def test_a_wrong_api_key_is_refused_without_retries(fake) -> None:
    np, port = fake
    with pytest.raises(NovaPoshtaError, match="API key is invalid") as caught:
        await provider_for(port, api_key="0" * 32).track(["20450000000001"])
    assert caught.value.codes == ("NP_FAKE_API_KEY",) and np.http_hits == 1


async def test_throttling_is_retried_with_backoff(fake) -> None:
    np, port = fake
    sleeps = Sleeps()
    np.faults = [(429, None), (503, None), (429, "0.75")]
    (info,) = await provider_for(port, sleeps).track(["20450000000001"])
    assert info.state is ShipmentState.UNKNOWN
    assert np.http_hits == 4
    assert sleeps == [0.25, 0.5, 1.0]  # doubling, Retry-After respected, capped at 1


async def test_retries_are_bounded(fake) -> None:
    np, port = fake
    sleeps = Sleeps()
    np.faults = [(500, None)] * 10
    with pytest.raises(NovaPoshtaError, match="HTTP 500") as caught:
        await provider_for(port, sleeps).track(["20450000000001"])
    assert caught.value.retryable and np.http_hits == 4 and len(sleeps) == 3


async def test_real_backoff_waits_between_attempts(fake) -> None:
    np, port = fake
    np.faults = [(503, None)]
    provider = provider_for(port, backoff="0.05")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await provider.track(["20450000000001"])
    assert loop.time() - started >= 0.05 and np.http_hits == 2


async def test_recipient_registration_is_retried_on_server_errors(fake) -> None:
    np, port = fake
    sleeps = Sleeps()
    np.faults = [(500, None)]  # Counterparty.save is idempotent: safe to repeat
    shipment = await provider_for(port, sleeps).create_shipment(parcel())
    assert shipment.tracking_number in np.documents
    assert sleeps == [0.25] and np.http_hits == 3


async def test_waybill_creation_is_not_retried_when_it_may_have_been_processed(fake) -> None:
    np, port = fake
    sleeps = Sleeps()
    original = np.counterparty_save

    def then_lose_the_waybill_answer(props: dict[str, Any]) -> web.Response:
        np.faults = [(502, None)]  # the gateway may have passed the save on
        return original(props)

    np.counterparty_save = then_lose_the_waybill_answer  # type: ignore[method-assign]
    with pytest.raises(NovaPoshtaError, match="HTTP 502") as caught:
        await provider_for(port, sleeps).create_shipment(parcel())
    assert caught.value.retryable and np.http_hits == 2 and sleeps == []


async def test_waybill_creation_is_retried_when_refused_unprocessed(fake) -> None:
    np, port = fake
    sleeps = Sleeps()
    provider = provider_for(port, sleeps)
    original = np.counterparty_save

    def then_throttle(props: dict[str, Any]) -> web.Response:
        np.faults = [(429, None)]
        return original(props)

    np.counterparty_save = then_throttle  # type: ignore[method-assign]
    shipment = await provider.create_shipment(parcel())
    assert list(np.documents) == [shipment.tracking_number] and sleeps == [0.25]


async def test_bad_requests_send_nothing(fake) -> None:
    np, port = fake
    with pytest.raises(ValueError, match="destination"):
        await provider_for(port).create_shipment(parcel(destination="Київ, відділення 1"))
    with pytest.raises(ValueError, match="tracking number"):
        await provider_for(port).track(["TTN-1"])
    assert np.http_hits == 0


async def test_unreachable_api_is_retried_then_reported(fake) -> None:
    sleeps = Sleeps()
    with pytest.raises(NovaPoshtaError, match="unreachable") as caught:
        await provider_for(1, sleeps).track(["20450000000001"])
    assert caught.value.retryable and len(sleeps) == 3


async def test_without_a_section_novaposhta_offers_nothing() -> None:
    pm = build_plugin_manager(load_entry_points=False, environ={})
    if pm.get_plugin("novaposhta") is None:
        pm.register(novaposhta, name="novaposhta")
    assert PluginHost(pm, {}).shipment_providers() == {}
