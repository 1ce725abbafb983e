"""`kopilka catalog import-1c` end to end: real CommerceML files into a real database."""

from __future__ import annotations

from pathlib import Path

from tests.cli import kopilka
from tests.onec_peer import FIXTURES, WATER
from tests.onec_peer import stored_products as products


async def test_import_windows_1251_package_in_batches(database_url: str) -> None:
    code, _, err = await kopilka(database_url, "catalog", "import-1c",
                                 str(FIXTURES / "import_cp1251.xml"),
                                 str(FIXTURES / "offers_cp1251.xml"), "--batch", "2")
    assert code == 0, err
    assert "imported 2/5 products" in err and "imported 5/5 products" in err
    assert "skipped 1 products marked deleted in 1C" in err
    stored = await products(database_url)
    assert sorted(stored) == sorted(["SOK-001", "SOK-KIDS-02", WATER, "CHEESE-KG", "TSHIRT-01"])
    assert stored["SOK-KIDS-02"] == (
        "Сік дитячий яблуко-груша 0,2 л", "0a1b2c3d-0001-11ee-8c99-0242ac120002",
        "0a1b2c3d-0011-11ee-8c99-0242ac120002", "Агуша", ["4820016250024"])
    assert stored[WATER][3:] == ("Моршинська", ["4820077700018"])
    # the variants' barcodes belong to their product; the name is the product's own
    assert stored["TSHIRT-01"] == ("Футболка бавовняна", "0a1b2c3d-0003-11ee-8c99-0242ac120002",
                                   "", "Kopilka Wear", ["4820999001019", "4820999001026"])

    code, _, err = await kopilka(database_url, "catalog", "import-1c", str(FIXTURES / "import.xml"),
                                 str(FIXTURES / "offers.xml"))
    assert code == 0 and "imported 5/5 products" in err  # re-import upserts in place
    assert (await products(database_url))["SOK-001"][0] == "Сік яблучний «Садочок» 1 л"


async def test_bad_package_writes_nothing_and_says_what_to_do(database_url: str,
                                                              tmp_path: Path) -> None:
    text = (FIXTURES / "import.xml").read_text(encoding="utf-8")
    bad = tmp_path / "import.xml"
    bad.write_text(text.replace("<Артикул>SOK-001</Артикул>", "<Артикул>СІК 1/л</Артикул>")
                   .replace("<Артикул>CHEESE-KG</Артикул>", "<Артикул>SOK-KIDS-02</Артикул>"),
                   encoding="utf-8")
    code, _, err = await kopilka(database_url, "catalog", "import-1c", str(bad),
                                 str(FIXTURES / "offers.xml"))
    assert code == 2
    assert "product 'СІК 1/л': sku: 1-64 letters, digits" in err
    assert ("product 'SOK-KIDS-02': sku: 1C products 5e1a0b2c-1002-11ee-8c99-0242ac120002 and "
            "5e1a0b2c-1004-11ee-8c99-0242ac120002 have the same Артикул") in err
    assert "nothing was imported" in err and "--sku-from id" in err
    assert await products(database_url) == {}

    code, _, err = await kopilka(database_url, "catalog", "import-1c", str(bad),
                                 str(FIXTURES / "offers.xml"), "--sku-from", "id")
    assert code == 0, err
    assert len(await products(database_url)) == 5

    code, _, err = await kopilka(database_url, "catalog", "import-1c",
                                 str(tmp_path / "missing.xml"))
    assert code == 2 and "cannot read" in err and "check the path" in err
    broken = tmp_path / "offers.xml"
    broken.write_bytes(b"<?xml version='1.0' encoding='windows-1251'?><a>")
    code, _, err = await kopilka(database_url, "catalog", "import-1c", str(bad), str(broken))
    assert code == 2 and "offers.xml: not well-formed XML" in err
    assert "export the catalog from 1C again" in err
