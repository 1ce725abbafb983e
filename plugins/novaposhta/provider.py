"""The "novaposhta" ShipmentProvider: express waybills and tracking over API 2.0.

``create_shipment`` registers the recipient (``Counterparty.save``, which Nova Poshta
deduplicates by name and phone) and then the waybill (``InternetDocument.save``); the
waybill number ``IntDocNumber`` is the tracking number. ``track`` asks
``TrackingDocument.getStatusDocuments`` for up to 100 numbers per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from plugins.novaposhta import waybill
from plugins.novaposhta.client import NovaPoshtaClient, NovaPoshtaError, Sleep
from plugins.novaposhta.settings import NovaPoshtaSettings
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
        waybill.validate(request, self.settings)  # nothing is sent for a bad request
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
            request, self.settings, recipient_ref=recipient_ref, contact_ref=contact_ref,
            today=self._today())
        document = _first(await self.client.call("InternetDocument", "save", properties,
                                                 safe=False), "InternetDocument.save")
        number = document.get("IntDocNumber")
        if not isinstance(number, str) or not number:
            raise NovaPoshtaError("InternetDocument.save answered without IntDocNumber")
        return Shipment(self.name, request.order_id, number)

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
