"""A fake Nova Poshta API 2.0 (JSON) on loopback, following
/work/shared/contracts/novaposhta.md to the field: the envelope (apiKey, modelName,
calledMethod, methodProperties -> success, data, errors, warnings, info, *Codes),
Counterparty.save, InternetDocument.save (the required fields of section 3, the enums of
section 2, BackwardDeliveryData of section 5), InternetDocument.delete and
TrackingDocument.getStatusDocuments (at most 100 documents, StatusCode "3" when unknown).
`status[number] = code` is what Nova Poshta reports next."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

REQUIRED = ("PayerType", "PaymentMethod", "DateTime", "CargoType", "Weight", "ServiceType",
            "SeatsAmount", "Description", "Cost", "CitySender", "Sender", "SenderAddress",
            "ContactSender", "SendersPhone", "CityRecipient", "Recipient", "RecipientAddress",
            "ContactRecipient", "RecipientsPhone")
ENUMS = {"PayerType": {"Sender", "Recipient", "ThirdPerson"},
         "PaymentMethod": {"Cash", "NonCash"},
         "CargoType": {"Cargo", "Documents", "TiresWheels", "Pallet", "Parcel"},
         "ServiceType": {"WarehouseWarehouse", "WarehouseDoors", "DoorsWarehouse",
                         "DoorsDoors"}}
REF = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TEXTS = {"1": "Відправник самостійно створив цю накладну, але ще не надав до відправки",
         "2": "Видалено", "3": "Номер не знайдено", "7": "Прибув на відділення",
         "9": "Відправлення отримано", "103": "Відмова одержувача",
         "105": "Припинено зберігання"}


def envelope(data: list[Any], errors: list[str] | None = None,
             codes: list[str] | None = None) -> dict[str, Any]:
    return {"success": not errors, "data": data if not errors else [],
            "errors": errors or [], "warnings": [], "info": [], "messageCodes": [],
            "errorCodes": codes or [], "warningCodes": [], "infoCodes": []}


class FakeNovaPoshta:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.calls: list[dict[str, Any]] = []
        self.documents: dict[str, dict[str, Any]] = {}  # Ref -> saved properties + number
        self.status: dict[str, str] = {}
        self.refuse_senders: set[str] = set()  # InternetDocument.save fails for these Senders
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._next = 20450000000000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2.0/json/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2.0/json/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def saved(self) -> list[dict[str, Any]]:
        return [c["methodProperties"] for c in self.calls
                if (c["modelName"], c["calledMethod"]) == ("InternetDocument", "save")]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        model, method = body.get("modelName"), body.get("calledMethod")
        props = body.get("methodProperties") or {}
        if (model, method) != ("TrackingDocument", "getStatusDocuments") \
                and body.get("apiKey") != self.api_key:
            return web.json_response(envelope([], ["API key expired"], ["20000200039"]))
        handler = {("Counterparty", "save"): self._counterparty,
                   ("InternetDocument", "save"): self._save,
                   ("InternetDocument", "delete"): self._delete,
                   ("TrackingDocument", "getStatusDocuments"): self._track}.get((model, method))
        if handler is None:
            return web.json_response(envelope([], [f"Method {method} is not found"]))
        return web.json_response(handler(props))

    def _counterparty(self, p: dict[str, Any]) -> dict[str, Any]:
        for key in ("FirstName", "LastName", "Phone"):
            if not p.get(key):
                return envelope([], [f"{key} is not specified"], ["20000100527"])
        if (p.get("CounterpartyType"), p.get("CounterpartyProperty")) != ("PrivatePerson",
                                                                          "Recipient"):
            return envelope([], ["CounterpartyProperty is not correct"])
        contact = envelope([{"Ref": str(uuid.uuid4()), "Description":
                            f"{p['LastName']} {p['FirstName']}", "LastName": p["LastName"],
                            "FirstName": p["FirstName"], "MiddleName": p.get("MiddleName", "")}])
        return envelope([{"Ref": str(uuid.uuid4()), "Description": "Приватна особа",
                          "FirstName": p["FirstName"], "LastName": p["LastName"],
                          "MiddleName": p.get("MiddleName", ""), "Counterparty": "",
                          "OwnershipForm": "", "OwnershipFormDescription": "", "EDRPOU": "",
                          "CounterpartyType": "PrivatePerson", "ContactPerson": contact}])

    def _save(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("Sender") in self.refuse_senders:
            return envelope([], ["Sender is blocked"], ["20000900746"])
        for key in REQUIRED:
            if p.get(key) in (None, ""):
                return envelope([], [f"{key} is not specified"], ["20000500639"])
        for key, allowed in ENUMS.items():
            if p[key] not in allowed:
                return envelope([], [f"{key} is not correct"])
        if not re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", p["DateTime"]):
            return envelope([], ["DateTime is not correct"])
        for key in ("CitySender", "Sender", "SenderAddress", "ContactSender", "CityRecipient",
                    "Recipient", "RecipientAddress", "ContactRecipient"):
            if not REF.match(p[key]):
                return envelope([], [f"{key} is not correct"])
        for key in ("SendersPhone", "RecipientsPhone"):
            if not re.fullmatch(r"380\d{9}", p[key]):
                return envelope([], [f"{key} is not correct"])
        for item in p.get("BackwardDeliveryData", []):
            if item.get("PayerType") not in ("Sender", "Recipient") \
                    or item.get("CargoType") != "Money" \
                    or not re.fullmatch(r"\d+(\.\d{1,2})?", str(item.get("RedeliveryString"))):
                return envelope([], ["BackwardDeliveryData is not correct"])
        self._next += 1
        number, ref = str(self._next), str(uuid.uuid4())
        self.documents[ref] = {**p, "IntDocNumber": number}
        self.status[number] = "1"
        return envelope([{"Ref": ref, "CostOnSite": "45", "EstimatedDeliveryDate": "03.12.2026",
                          "IntDocNumber": number, "TypeDocument": "InternetDocument"}])

    def _delete(self, p: dict[str, Any]) -> dict[str, Any]:
        ref = p.get("DocumentRefs")
        doc = self.documents.get(ref) if isinstance(ref, str) else None
        if doc is None or self.status[doc["IntDocNumber"]] == "2":
            return envelope([], ["Document not found"], ["20001401442"])
        self.status[doc["IntDocNumber"]] = "2"
        return envelope([{"Ref": ref}])

    def _track(self, p: dict[str, Any]) -> dict[str, Any]:
        docs = p.get("Documents") or []
        if len(docs) > 100:
            return envelope([], ["Documents limit exceeded"])
        rows = []
        for d in docs:
            number = str(d.get("DocumentNumber", ""))
            code = self.status.get(number, "3")
            doc = next((x for x in self.documents.values() if x["IntDocNumber"] == number), {})
            rows.append({"Number": number, "StatusCode": code, "Status": TEXTS.get(code, ""),
                         "DateCreated": "01-12-2026 13:00:00",
                         "ScheduledDeliveryDate": "03-12-2026 13:00:00",
                         "RedeliverySum": next((x["RedeliveryString"] for x in
                                                doc.get("BackwardDeliveryData", [])), "0"),
                         "DocumentCost": "45", "AnnouncedPrice": doc.get("Cost", ""),
                         "PaymentStatus": ""})
        return envelope(rows)
