"""CommerceML 2 catalog packages (import.xml + offers.xml) -> CatalogItems.

``import.xml`` carries the classifier (nested ``Группы``, ``Свойства``) and the catalog
(``Товары``); ``offers.xml`` (and in 2.08+ packages ``prices.xml`` / ``rests.xml``) carries
``Предложения`` keyed by the product's ``Ид``, or ``"product#variant"`` for a
characteristic. Documents are recognised by content, not by file name, because 1C names
them ``import0_1.xml``, ``import___<guid>.xml`` and so on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from plugins.onec.amounts import currency_code, to_milli, to_minor
from plugins.onec.settings import OneCSettings
from plugins.onec.xmlio import CommerceMLError, load, text
from server.plugin_api import CatalogItem

ROOT = "КоммерческаяИнформация"
_DELETED = {"удален", "удалён", "видалено"}
_BARCODE_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True, slots=True)
class Product:
    """A ``Товар`` with its classifier position resolved."""

    id: str
    sku: str
    name: str
    group: str | None
    subgroup: str | None
    brand: str | None
    barcodes: tuple[str, ...]


@dataclass(slots=True)
class Offer:
    """What offers/prices/rests documents say about one ``Ид``, merged across files."""

    id: str
    name: str = ""
    barcodes: tuple[str, ...] = ()
    price_minor: int | None = None
    currency: str | None = None
    stock_milli: int | None = None
    by_warehouse: dict[str, int] = field(default_factory=dict)  # warehouse Ид -> thousandths


@dataclass(slots=True)
class ParsedCatalog:
    """Items plus what could not become an item, so callers can tell the operator."""

    items: list[CatalogItem] = field(default_factory=list)
    products: dict[str, Product] = field(default_factory=dict)
    unmatched_offers: list[str] = field(default_factory=list)
    deleted: int = 0
    warehouses: dict[str, str] = field(default_factory=dict)  # Ид -> Наименование
    # (warehouse Ид, SKU) -> thousandths, variants of one product added up
    stock: dict[tuple[str, str], int] = field(default_factory=dict)


def parse_package(documents: Mapping[str, bytes], settings: OneCSettings,
                  known: Mapping[str, Product] | None = None) -> ParsedCatalog:
    """Decode every document and join offers to products by ``Ид``.

    ``known`` holds products from earlier packages: 1C sends price/stock-only packages
    ("СодержитТолькоИзменения") whose offers refer to products it sent before.
    """
    roots = [(name, load(name, data)) for name, data in sorted(documents.items())]
    result = ParsedCatalog()
    groups: dict[str, tuple[str, str | None]] = {}
    properties: dict[str, str] = {}
    values: dict[str, str] = {}
    recognised = False
    for name, root in roots:
        if root.tag != ROOT:
            raise CommerceMLError(f"{name}: root element is <{root.tag}>, expected <{ROOT}>")
        for classifier in root.iter("Классификатор"):
            recognised = True
            groups.update(_groups(classifier.find("Группы"), None))
            _properties(classifier, properties, values)
    offers: dict[str, Offer] = {}
    for name, root in roots:
        for catalog in root.iter("Каталог"):
            recognised = True
            for element in catalog.iterfind("Товары/Товар"):
                product = _product(name, element, settings, groups, properties, values)
                if product is None:
                    result.deleted += 1
                else:
                    result.products[product.id] = product
        for package in root.iter("ПакетПредложений"):
            recognised = True
            _offers(name, package, settings, offers)
            for store in package.iterfind("Склады/Склад"):
                if text(store, "Ид"):
                    result.warehouses[text(store, "Ид")] = text(store, "Наименование")
    if not recognised:
        raise CommerceMLError(
            f"no Классификатор, Каталог or ПакетПредложений in {', '.join(sorted(documents))}")
    result.items = _join(result, offers, settings, known or {})
    return result


def _groups(container: Element | None, top: str | None) -> dict[str, tuple[str, str | None]]:
    """Group Ид -> (group, subgroup): the top level is the group, the second the subgroup.

    Deeper levels map to their second-level ancestor, Kopilka keeping two levels.
    """
    found: dict[str, tuple[str, str | None]] = {}
    if container is None:
        return found
    for group in container.iterfind("Группа"):
        gid = text(group, "Ид")
        if not gid:
            continue
        position = (gid, None) if top is None else (top, gid)
        found[gid] = position
        nested = _groups(group.find("Группы"), gid if top is None else None)
        if top is not None:  # below the subgroup everything keeps this subgroup
            nested = {key: position for key in nested}
        found.update(nested)
    return found


def _properties(classifier: Element, names: dict[str, str], values: dict[str, str]) -> None:
    """Property Ид -> name, and directory value Ид -> value (for "Бренд"-like properties)."""
    for prop in [*classifier.iterfind("Свойства/Свойство"),
                 *classifier.iterfind("Свойства/СвойствоНоменклатуры")]:
        pid = text(prop, "Ид")
        if pid:
            names[pid] = text(prop, "Наименование")
        for item in prop.iterfind("ВариантыЗначений/Справочник"):
            values[text(item, "ИдЗначения")] = text(item, "Значение")


def _product(name: str, element: Element, settings: OneCSettings,
             groups: Mapping[str, tuple[str, str | None]], properties: Mapping[str, str],
             values: Mapping[str, str]) -> Product | None:
    pid = text(element, "Ид")
    if not pid:
        raise CommerceMLError(f"{name}: a Товар has no Ид")
    status = element.get("Статус", "").strip().lower()
    if status in _DELETED or text(element, "ПометкаУдаления").lower() == "true":
        return None
    article = text(element, "Артикул")
    sku = article if settings.sku_source == "article" and article else pid.partition("#")[0]
    group_id = text(element, "Группы/Ид")
    group, subgroup = groups.get(group_id, (group_id or None, None))
    return Product(pid, sku, text(element, "Наименование"), group, subgroup,
                   _brand(element, settings, properties, values),
                   _barcodes(text(element, "Штрихкод")))


def _brand(element: Element, settings: OneCSettings, properties: Mapping[str, str],
           values: Mapping[str, str]) -> str | None:
    """Изготовитель, else a requisite or property named like a brand (see settings)."""
    maker = text(element, "Изготовитель/Наименование")
    if maker:
        return maker
    wanted = settings.brand_names
    for requisite in element.iterfind("ЗначенияРеквизитов/ЗначениеРеквизита"):
        if text(requisite, "Наименование").lower() in wanted and text(requisite, "Значение"):
            return text(requisite, "Значение")
    for prop in element.iterfind("ЗначенияСвойств/ЗначенияСвойства"):
        if properties.get(text(prop, "Ид"), "").lower() in wanted:
            raw = text(prop, "Значение")
            if raw:
                return values.get(raw, raw)
    return None


def _barcodes(raw: str) -> tuple[str, ...]:
    return tuple(code for code in _BARCODE_SPLIT.split(raw) if code)


def _offers(name: str, package: Element, settings: OneCSettings,
            offers: dict[str, Offer]) -> None:
    price_types = {text(t, "Ид"): t for t in package.iterfind("ТипыЦен/ТипЦены")}
    wanted = _price_type_id(price_types, settings.price_type)
    for element in package.iterfind("Предложения/Предложение"):
        oid = text(element, "Ид")
        if not oid:
            raise CommerceMLError(f"{name}: a Предложение has no Ид")
        offer = offers.setdefault(oid, Offer(oid))
        offer.name = text(element, "Наименование") or offer.name
        offer.barcodes = offer.barcodes + tuple(
            b for b in _barcodes(text(element, "Штрихкод")) if b not in offer.barcodes)
        try:
            _price(element, price_types, wanted, settings, offer)
            _stock(element, offer)
        except ValueError as exc:
            raise CommerceMLError(f"{name}: Предложение {oid}: {exc}") from exc


def _price_type_id(price_types: Mapping[str, Element], configured: str) -> str | None:
    """The ``ИдТипаЦены`` to use: configured by Ид or name; None means "the first price"."""
    if not configured:
        return None
    for pid, element in price_types.items():
        if configured in (pid, text(element, "Наименование")):
            return pid
    return configured  # a package without ТипыЦен still names prices by Ид


def _price(element: Element, price_types: Mapping[str, Element], wanted: str | None,
           settings: OneCSettings, offer: Offer) -> None:
    for price in element.iterfind("Цены/Цена"):
        type_id = text(price, "ИдТипаЦены")
        if wanted is not None and type_id != wanted:
            continue
        raw = text(price, "ЦенаЗаЕдиницу")
        if not raw:
            continue
        fallback = currency_code(text(price_types.get(type_id), "Валюта"),
                                 settings.default_currency)
        currency = currency_code(text(price, "Валюта"), fallback) or settings.default_currency
        offer.price_minor, offer.currency = to_minor(raw, currency), currency
        return


def _stock(element: Element, offer: Offer) -> None:
    # per warehouse: <Склад ИдСклада=".." КоличествоНаСкладе=".."/> (2.04-2.10), or
    # Остатки/Остаток/Склад with Ид and Количество (2.08+ rests.xml)
    for store in element.iterfind("Склад"):
        wid = store.get("ИдСклада", "").strip()
        if wid:
            offer.by_warehouse[wid] = to_milli(store.get("КоличествоНаСкладе", "0") or "0")
    for store in element.iterfind("Остатки/Остаток/Склад"):
        wid, raw = text(store, "Ид"), text(store, "Количество")
        if wid and raw:
            offer.by_warehouse[wid] = to_milli(raw)
    direct = text(element, "Количество")
    if direct:
        offer.stock_milli = to_milli(direct)
        return
    rests = [text(q) for q in element.iterfind("Остатки//Количество") if text(q)]
    if offer.by_warehouse and not rests:
        offer.stock_milli = sum(offer.by_warehouse.values())
    elif rests:
        offer.stock_milli = sum(to_milli(q) for q in rests)


def _join(result: ParsedCatalog, offers: Mapping[str, Offer], settings: OneCSettings,
          known: Mapping[str, Product]) -> list[CatalogItem]:
    """One item per product (with its own offer), then one per characteristic offer."""
    items: list[CatalogItem] = []
    used: set[str] = set()
    for product in result.products.values():
        offer = offers.get(product.id)
        used.add(product.id)
        items.append(_item(product, offer, None))
    for oid, offer in offers.items():
        if oid in used:
            continue
        base_id, _, variant = oid.partition("#")
        base = result.products.get(base_id) or known.get(base_id)
        if base is None and settings.sku_source == "id":
            base = Product(base_id, base_id, offer.name, None, None, None, ())
        if base is None:
            result.unmatched_offers.append(oid)
            continue
        items.append(_item(base, offer, variant or None))
    by_id = {**known, **result.products}
    for oid, offer in offers.items():
        found = by_id.get(oid.partition("#")[0])
        if found is None and settings.sku_source == "id":
            found = Product(oid.partition("#")[0], oid.partition("#")[0], "", None, None,
                            None, ())
        if found is None:
            continue
        for wid, milli in offer.by_warehouse.items():
            key = (wid, found.sku)
            result.stock[key] = result.stock.get(key, 0) + milli
    return items


def _item(product: Product, offer: Offer | None, variant: str | None) -> CatalogItem:
    own = product.barcodes if variant is None else ()
    extra: Iterable[str] = offer.barcodes if offer else ()
    barcodes = tuple(dict.fromkeys((*own, *extra)))
    name = product.name
    if variant is not None and offer is not None and offer.name:
        name = offer.name
    return CatalogItem(
        sku=product.sku, name=name, group=product.group, brand=product.brand,
        barcodes=barcodes, price_minor=offer.price_minor if offer else None,
        currency=offer.currency if offer else None, subgroup=product.subgroup,
        external_id=product.id if variant is None else f"{product.id}#{variant}",
        variant_id=variant, stock_milli=offer.stock_milli if offer else None)
