"""Order documents 1C sends back (``type=sale&mode=file``) -> what became of each order.

1C writes the order's fate as requisites of its ``Документ`` (contract §4): Bitrix-style
``Отменен`` / ``Финальный статус`` / ``Статус заказа`` (``[F] Доставлен``), and 1C UT's
``ПометкаУдаления`` / ``Проведен``. They map to order actions, strongest first: cancelled
(deletion mark or Отменен), completed (final status, or a status naming delivery or
completion), confirmed (posted, or a status naming confirmation). A document that says
none of these changes nothing. The ``Ид`` is the order id Kopilka exported.
"""

from __future__ import annotations

from collections.abc import Mapping

from plugins.onec.catalog import ROOT
from plugins.onec.xmlio import CommerceMLError, load, text
from server.plugin_api import OrderStatus

_TRUE = {"true", "истина", "да", "1", "так"}
_CANCELLED = ("отмен", "скасован", "cancel")
_COMPLETED = ("доставлен", "выполнен", "виконан", "доставлено", "отгружен", "complete")
_CONFIRMED = ("подтвержд", "підтвердж", "принят в работу", "confirm")


def parse_statuses(name: str, data: bytes) -> list[OrderStatus]:
    """One OrderStatus per document that says something; CommerceMLError if not CommerceML."""
    root = load(name, data)
    if root.tag != ROOT:
        raise CommerceMLError(f"{name}: root element is <{root.tag}>, expected <{ROOT}>")
    found: list[OrderStatus] = []
    for doc in root.iter("Документ"):
        order_id = text(doc, "Ид") or text(doc, "Номер")
        if not order_id:
            raise CommerceMLError(f"{name}: a Документ has no Ид")
        requisites = {text(r, "Наименование").lower(): text(r, "Значение")
                      for r in doc.iterfind("ЗначенияРеквизитов/ЗначениеРеквизита")}
        action = _action(requisites, text(doc, "ПометкаУдаления"))
        if action is not None:
            status = requisites.get("статус заказа", "")
            found.append(OrderStatus(order_id, action, f"1C: {status or action}"))
    return found


def _action(requisites: Mapping[str, str], deletion_mark: str) -> str | None:
    def flag(key: str) -> bool:
        return requisites.get(key, "").strip().lower() in _TRUE

    status = requisites.get("статус заказа", "").lower()
    if flag("отменен") or flag("пометкаудаления") or deletion_mark.lower() in _TRUE \
            or any(word in status for word in _CANCELLED):
        return "cancel"
    if flag("финальный статус") or any(word in status for word in _COMPLETED):
        return "complete"
    if flag("проведен") or any(word in status for word in _CONFIRMED):
        return "confirm"
    return None
