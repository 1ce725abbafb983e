"""The "novaposhta" ShipmentProvider: express waybills and tracking over API 2.0.

``create_shipment`` registers the recipient (``Counterparty.save``, which Nova Poshta
deduplicates by name and phone) and then the waybill (``InternetDocument.save``); the
waybill number ``IntDocNumber`` is the tracking number. ``track`` asks
``TrackingDocument.getStatusDocuments`` for up to 100 numbers per call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from plugins.novaposhta import waybill
from plugins.novaposhta.client import NovaPoshtaClient, NovaPoshtaError, Sleep
from plugins.novaposhta.settings import SENDER_FIELDS, NovaPoshtaSettings
from plugins.novaposhta.statuses import to_state
from server.plugin_api import Shipment, ShipmentRequest, ShipmentState, TrackingInfo


class NovaPoshtaProvider:
    """One merchant account. ``today`` and ``sleep`` are injectable for tests."""

    def __init__(self, settings: NovaPoshtaSettings, *,
                 today: Callable[[], date] | None = None, sleep: Sleep | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        zone = ZoneInfo(settings.timezone)
        self._today = today or (lambda: datetime.now(zone).date())
        extra = {"sleep": sleep} if sleep is not None else {}
        self.client = NovaPoshtaClient(
            settings.api_url, settings.api_key, timeout=settings.timeout,
            retries=settings.retries, backoff=settings.backoff,
            backoff_max=settings.backoff_max, **extra)

    async def create_shipment(self, request: ShipmentRequest) -> Shipment:
        number, _ = await self.create_waybill(request)
        return Shipment(self.name, request.order_id, number)

    async def create_waybill(self, request: ShipmentRequest, *,
                             sender: Mapping[str, str] | None = None,
                             cod_minor: int = 0) -> tuple[str, str]:
        """(IntDocNumber, Ref) of a new waybill; ``sender`` (``sender_ref``,
        ``sender_contact_ref``, ``sender_city_ref``, ``sender_address_ref``,
        ``sender_phone``) replaces the settings' sender, e.g. one per legal entity;
        ``cod_minor`` adds cash on delivery (``BackwardDeliveryData``)."""
        settings = self.settings
        if sender:
            unknown = set(sender) - set(SENDER_FIELDS)
            if unknown:
                raise ValueError(f"unknown sender fields: {', '.join(sorted(unknown))}")
            settings = dataclasses.replace(
                settings, sender_ref=sender.get("sender_ref", settings.sender_ref),
                sender_contact_ref=sender.get("sender_contact_ref",
                                              settings.sender_contact_ref),
                sender_city_ref=sender.get("sender_city_ref", settings.sender_city_ref),
                sender_address_ref=sender.get("sender_address_ref",
                                              settings.sender_address_ref),
                sender_phone=sender.get("sender_phone", settings.sender_phone))
        waybill.validate(request, settings)  # nothing is sent for a bad request
        extra = {"BackwardDeliveryData": waybill.backward_delivery(cod_minor,
                                                                   request.currency)} \
            if cod_minor else {}
        counterparty = _first(await self.client.call(
            "Counterparty", "save", waybill.recipient_properties(request)),
            "Counterparty.save")
        try:
            recipient_ref = counterparty["Ref"]
            contact_ref = counterparty["ContactPerson"]["data"][0]["Ref"]
        except (KeyError, IndexError, TypeError) as exc:
            raise NovaPoshtaError("Counterparty.save answered without Ref/ContactPerson") \
                from exc
        properties = waybill.document_properties(
            request, settings, recipient_ref=recipient_ref, contact_ref=contact_ref,
            today=self._today())
        document = _first(await self.client.call("InternetDocument", "save",
                                                 {**properties, **extra}, safe=False),
                          "InternetDocument.save")
        number, ref = document.get("IntDocNumber"), document.get("Ref")
        if not isinstance(number, str) or not number or not isinstance(ref, str):
            raise NovaPoshtaError("InternetDocument.save answered without IntDocNumber/Ref")
        return number, ref

    async def delete_waybill(self, ref: str) -> None:
        """Cancel a waybill (``InternetDocument.delete``, contract section 6)."""
        data = await self.client.call("InternetDocument", "delete", {"DocumentRefs": ref},
                                      safe=False)
        if not data or not isinstance(data[0], dict) or data[0].get("Ref") != ref:
            raise NovaPoshtaError("InternetDocument.delete did not confirm the Ref")

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingInfo]:
        """One ``TrackingInfo`` per requested number, in the order asked."""
        found: dict[str, TrackingInfo] = {}
        for batch in waybill.tracking_batches(list(tracking_numbers)):
            documents = [{"DocumentNumber": n, "Phone": self._tracking_phone()}
                         for n in batch]
            for item in await self.client.call("TrackingDocument", "getStatusDocuments",
                                               {"Documents": documents}):
                number = str(item.get("Number", "")) if isinstance(item, dict) else ""
                if number in batch:
                    code = str(item.get("StatusCode", ""))
                    found[number] = TrackingInfo(self.name, number, to_state(code), code)
        # Nova Poshta answers every number (StatusCode "3" if unknown); one it left out
        # is reported as unknown with an empty provider status rather than invented.
        return [found.get(n) or TrackingInfo(self.name, n, ShipmentState.UNKNOWN, "")
                for n in tracking_numbers]

    def _tracking_phone(self) -> str:
        """The sender's phone unlocks full details for our own waybills; may be empty."""
        return waybill.phone(self.settings.sender_phone, "novaposhta.sender_phone") \
            if self.settings.sender_phone else ""


def _first(data: list[Any], what: str) -> dict[str, Any]:
    if not data or not isinstance(data[0], dict):
        raise NovaPoshtaError(f"{what} answered with empty data")
    return data[0]
