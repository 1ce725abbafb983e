"""The 1C CommerceML 2 exchange: catalog parsing and order rendering on real fixture files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from plugins.onec import CommerceMLError, OneCExchange, OneCSettings
from server.plugin_api import CatalogItem, OrderExport
from server.plugin_host import PluginHost, build_plugin_manager

FIXTURES = Path(__file__).parent / "fixtures" / "onec"
JUICE = "5e1a0b2c-1001-11ee-8c99-0242ac120002"
WATER = "5e1a0b2c-1003-11ee-8c99-0242ac120002"
SHIRT = "5e1a0b2c-1005-11ee-8c99-0242ac120002"
DRINKS, JUICES, WATERS = ("0a1b2c3d-0001-11ee-8c99-0242ac120002",
                          "0a1b2c3d-0011-11ee-8c99-0242ac120002",
                          "0a1b2c3d-0012-11ee-8c99-0242ac120002")


def package(suffix: str = "") -> dict[str, bytes]:
    return {f"{name}{suffix}.xml": (FIXTURES / f"{name}{suffix}.xml").read_bytes()
            for name in ("import", "offers")}


def retail(**overrides: str) -> OneCExchange:
    return OneCExchange(OneCSettings.from_mapping({"price_type": "Роздрібна", **overrides}))


def by_id(items: list[CatalogItem]) -> dict[str, CatalogItem]:
    return {item.external_id or "": item for item in items}


async def test_utf8_with_namespace_gives_products_groups_brands_and_exact_prices() -> None:
    items = by_id(await retail().parse_catalog(package()))
    juice = items[JUICE]
    assert (juice.sku, juice.name, juice.group, juice.subgroup, juice.brand) == (
        "SOK-001", "Сік яблучний «Садочок» 1 л", DRINKS, JUICES, "Sandora")
    assert (juice.barcodes, juice.price_minor, juice.currency, juice.stock_milli) == (
        ("4820016250017",), 4590, "UAH", 120_000)
    kids = items["5e1a0b2c-1002-11ee-8c99-0242ac120002"]
    # a third-level group folds into its second-level ancestor; 0.1 is exactly 10 kopiyky
    assert (kids.group, kids.subgroup, kids.brand, kids.price_minor) == (
        DRINKS, JUICES, "Агуша", 10)
    water = items[WATER]  # empty Артикул -> Ид; brand from a directory property
    assert (water.sku, water.subgroup, water.brand, water.price_minor, water.stock_milli) == (
        WATER, WATERS, "Моршинська", 123_450, 12_500)
    cheese = items["5e1a0b2c-1004-11ee-8c99-0242ac120002"]
    assert (cheese.price_minor, cheese.stock_milli) == (38_990, 12_345)
    assert "5e1a0b2c-1006-11ee-8c99-0242ac120002" not in items  # Статус="Удален"


async def test_characteristic_offers_become_variants_of_their_product() -> None:
    items = by_id(await retail().parse_catalog(package()))
    small, large = (items[f"{SHIRT}#7f000001-000{n}-11ee-8c99-0242ac120002"] for n in (1, 2))
    assert {small.sku, large.sku, items[SHIRT].sku} == {"TSHIRT-01"}
    assert (small.variant_id, small.name, small.barcodes, small.price_minor) == (
        "7f000001-0001-11ee-8c99-0242ac120002", "Футболка бавовняна (S, біла)",
        ("4820999001019",), 29_900)
    assert (large.price_minor, large.stock_milli, large.brand) == (34_999, 3_000,
                                                                  "Kopilka Wear")
    assert items[SHIRT].variant_id is None and items[SHIRT].price_minor is None


async def test_windows_1251_without_namespace_reads_the_same() -> None:
    utf8 = await retail().parse_catalog(package())
    cp1251 = await retail().parse_catalog(package("_cp1251"))
    def plain(items: list[CatalogItem]) -> list[CatalogItem]:
        return [CatalogItem(**{**{f: getattr(i, f) for f in i.__slots__},
                               "name": i.name.replace("«", '"').replace("»", '"')})
                for i in items]
    assert plain(utf8) == cp1251
    assert len(cp1251) == 7


async def test_price_type_default_and_sku_from_id() -> None:
    items = by_id(await OneCExchange(OneCSettings(sku_source="id")).parse_catalog(package()))
    assert items[JUICE].price_minor == 3820  # the first price ("Оптова", currency "грн")
    assert items[JUICE].sku == JUICE
    assert items[f"{SHIRT}#7f000001-0001-11ee-8c99-0242ac120002"].sku == SHIRT


async def test_offers_only_package_resolves_products_seen_before() -> None:
    exchange = retail()
    parsed = exchange.parse({"import.xml": package()["import.xml"]})
    assert all(item.price_minor is None for item in parsed.items)
    later = by_id(await exchange.parse_catalog({"offers.xml": package()["offers.xml"]}))
    assert (later[JUICE].sku, later[JUICE].price_minor) == ("SOK-001", 4590)
    assert later[JUICE].barcodes == ("4820016250017",)
    fresh = retail().parse({"offers.xml": package()["offers.xml"]})
    assert fresh.items == [] and JUICE in fresh.unmatched_offers


def offers_with_price(price: str) -> dict[str, bytes]:
    text = package()["offers.xml"].decode().replace(">45.90<", f">{price}<")
    return {**package(), "offers.xml": text.encode()}


@pytest.mark.parametrize("price", ["45.905", "1e3", "45.9.0", "сорок"])
async def test_inexact_or_malformed_price_names_the_offer(price: str) -> None:
    with pytest.raises(CommerceMLError, match=f"offers.xml: Предложение {JUICE}"):
        await retail().parse_catalog(offers_with_price(price))


async def test_comma_decimal_and_grouping_spaces_are_exact() -> None:
    items = by_id(await retail().parse_catalog(offers_with_price("1\u00a0045,9")))
    assert items[JUICE].price_minor == 104_590


async def test_entity_expansion_and_garbage_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>')
    with pytest.raises(CommerceMLError, match=r"bomb\.xml: refused unsafe XML"):
        await retail().parse_catalog({"bomb.xml": bomb})
    with pytest.raises(CommerceMLError, match=r"broken\.xml: not well-formed"):
        await retail().parse_catalog({"broken.xml": b"<a><b></a>"})
    with pytest.raises(CommerceMLError, match="expected <КоммерческаяИнформация>"):
        await retail().parse_catalog({"other.xml": b"<catalog/>"})
    with pytest.raises(CommerceMLError, match="a Товар has no Ид"):
        await retail().parse_catalog({"i.xml": "<КоммерческаяИнформация><Каталог><Товары>"
                                      "<Товар><Наименование>x</Наименование></Товар>"
                                      "</Товары></Каталог></КоммерческаяИнформация>".encode()})


async def test_render_orders_as_commerceml_documents() -> None:
    exchange = retail()
    await exchange.parse_catalog(package())
    order = OrderExport(
        order_id="K-000123", created_at=dt.datetime(2024, 3, 14, 10, 5, 0, tzinfo=dt.UTC),
        total_minor=4590 * 2 + 48_126 + 100, currency="UAH",
        lines=(("SOK-001", 2000, 9180), ("CHEESE-KG", 1234, 48_126), ("UNKNOWN-1", 3000, 100)))
    xml = await exchange.render_orders([order])
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = fromstring(xml)
    assert root.tag == "КоммерческаяИнформация" and root.get("ВерсияСхемы") == "2.08"
    doc = root.find("Документ")
    assert [doc.findtext(t) for t in ("Ид", "Номер", "Дата", "Время", "ХозОперация", "Роль",
                                      "Валюта", "Сумма")] == [
        "K-000123", "K-000123", "2024-03-14", "12:05:00", "Заказ товара", "Продавец", "UAH",
        "574.06"]
    assert doc.findtext("Контрагенты/Контрагент/Роль") == "Покупатель"
    lines = doc.findall("Товары/Товар")
    assert [(ln.findtext("Ид"), ln.findtext("Артикул"), ln.findtext("ЦенаЗаЕдиницу"),
             ln.findtext("Количество"), ln.findtext("Сумма")) for ln in lines] == [
        (JUICE, "SOK-001", "45.90", "2", "91.80"),
        ("5e1a0b2c-1004-11ee-8c99-0242ac120002", "CHEESE-KG", "390.00", "1.234", "481.26"),
        ("UNKNOWN-1", "UNKNOWN-1", "0.3333", "3", "1.00")]
    assert lines[0].findtext("Наименование") == "Сік яблучний «Садочок» 1 л"
    assert lines[1].findtext("БазоваяЕдиница") == "кг"
    with pytest.raises(ValueError, match="lines add up to 9180, total is 1"):
        await exchange.render_orders([OrderExport("K-1", order.created_at, 1, "UAH",
                                                  (("SOK-001", 2000, 9180),))])


async def test_registered_through_pluggy_only_when_configured() -> None:
    pm = build_plugin_manager(load_entry_points=False, environ={})
    assert pm.get_plugin("onec") is not None  # a built-in: loaded from its entry point
    assert PluginHost(pm, {}).catalog_exchanges() == {}
    exchange = PluginHost(pm, {"onec": {"sku_source": "id"}}).catalog_exchanges()["1c"]
    assert isinstance(exchange, OneCExchange) and exchange.settings.sku_source == "id"
    with pytest.raises(ValueError, match="sku_source"):
        PluginHost(pm, {"onec": {"sku_source": "name"}}).catalog_exchanges()
