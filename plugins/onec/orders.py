"""Orders -> a CommerceML 2 document list that 1C downloads with ``type=sale&mode=query``.

Each order is a ``Документ`` with ``ХозОперация`` "Заказ товара", the buyer in
``Контрагенты`` and lines in ``Товары``. 1C finds the nomenclature by ``Ид``, so a line
carries the 1C ``Ид`` learned from the catalog when Kopilka knows it (else the SKU) and
the SKU as ``Артикул``. ``Сумма`` is exact; ``ЦенаЗаЕдиницу`` is the line sum divided by
the quantity, rounded to 1/100 of a minor unit only when it does not divide.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from plugins.onec.amounts import exponent, format_milli, format_minor
from plugins.onec.catalog import ROOT, Product
from plugins.onec.settings import OneCSettings
from server.plugin_api import OrderExport

SCHEMA_VERSION = "2.08"
_PIECE = {"Код": "796", "НаименованиеПолное": "Штука", "МеждународноеСокращение": "PCE"}
_FINAL = {"completed", "cancelled", "returned"}
_KILO = {"Код": "166", "НаименованиеПолное": "Килограмм", "МеждународноеСокращение": "KGM"}


def render(orders: Sequence[OrderExport], settings: OneCSettings,
           by_sku: Mapping[str, Product], now: datetime | None = None) -> bytes:
    """UTF-8 CommerceML with one ``Документ`` per order (an empty list is valid too)."""
    zone = zoneinfo.ZoneInfo(settings.time_zone)
    stamp = (now or datetime.now(UTC)).astimezone(zone)
    root = Element(ROOT, {"ВерсияСхемы": SCHEMA_VERSION,
                          "ДатаФормирования": stamp.strftime("%Y-%m-%dT%H:%M:%S")})
    for order in orders:
        _document(root, order, settings, by_sku, zone)
    indent(root)
    # typeshed types tostring as Any for any encoding but "unicode"; this one gives bytes
    xml: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def _document(root: Element, order: OrderExport, settings: OneCSettings,
              by_sku: Mapping[str, Product], zone: zoneinfo.ZoneInfo) -> None:
    if sum(line[2] for line in order.lines) != order.total_minor:
        raise ValueError(f"order {order.order_id}: lines add up to "
                         f"{sum(line[2] for line in order.lines)}, total is {order.total_minor}")
    created = order.created_at.astimezone(zone)
    doc = SubElement(root, "Документ")
    for tag, value in (("Ид", order.order_id), ("Номер", order.order_id),
                       ("Дата", created.strftime("%Y-%m-%d")), ("ХозОперация", "Заказ товара"),
                       ("Роль", "Продавец"), ("Валюта", order.currency), ("Курс", "1"),
                       ("Сумма", format_minor(order.total_minor, order.currency))):
        SubElement(doc, tag).text = value
    buyer = SubElement(SubElement(doc, "Контрагенты"), "Контрагент")
    for tag, value in (("Ид", settings.buyer_id), ("Наименование", settings.buyer_name),
                       ("Роль", "Покупатель"), ("ПолноеНаименование", settings.buyer_name)):
        SubElement(buyer, tag).text = value
    SubElement(doc, "Время").text = created.strftime("%H:%M:%S")
    goods = SubElement(doc, "Товары")
    for sku, quantity, line_sum in order.lines:
        if quantity <= 0:
            raise ValueError(f"order {order.order_id}: quantity of {sku} must be positive")
        product = by_sku.get(sku)
        line = SubElement(goods, "Товар")
        SubElement(line, "Ид").text = product.id if product else sku
        SubElement(line, "Артикул").text = sku
        SubElement(line, "Наименование").text = product.name if product and product.name else sku
        whole = quantity % 1000 == 0
        SubElement(line, "БазоваяЕдиница", _PIECE if whole else _KILO).text = (
            "шт" if whole else "кг")
        SubElement(line, "ЦенаЗаЕдиницу").text = _unit_price(line_sum, quantity, order.currency)
        SubElement(line, "Количество").text = format_milli(quantity)
        SubElement(line, "Сумма").text = format_minor(line_sum, order.currency)
        requisites = SubElement(line, "ЗначенияРеквизитов")
        for name in ("ВидНоменклатуры", "ТипНоменклатуры"):
            requisite = SubElement(requisites, "ЗначениеРеквизита")
            SubElement(requisite, "Наименование").text = name
            SubElement(requisite, "Значение").text = "Товар"
    if order.state:  # Bitrix-style requisites (contract §4), after Товары as in the XSD
        requisites = SubElement(doc, "ЗначенияРеквизитов")
        for name, value in (("Статус заказа", order.state),
                            ("Отменен", "true" if order.state == "cancelled" else "false"),
                            ("Финальный статус", "true" if order.state in _FINAL else "false"),
                            ("Номер версии", str(order.version))):
            requisite = SubElement(requisites, "ЗначениеРеквизита")
            SubElement(requisite, "Наименование").text = name
            SubElement(requisite, "Значение").text = value


def _unit_price(line_sum: int, quantity_milli: int, currency: str) -> str:
    places = exponent(currency)
    price = Decimal(line_sum) * 1000 / Decimal(quantity_milli) / (10 ** places)
    exact = price.quantize(Decimal(1).scaleb(-places))
    if exact == price:
        return f"{exact:.{places}f}"
    return f"{price.quantize(Decimal(1).scaleb(-places - 2), ROUND_HALF_UP):f}"
