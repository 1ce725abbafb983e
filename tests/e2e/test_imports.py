"""`kopilka import` end to end: generated files (UTF-8 and windows-1251) into real PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from unittest import mock

import asyncpg

from server.members.cards import card_number
from tests.cli import kopilka

OUR_CARD = card_number("2100", 7)  # our EAN-13 with its check digit
LEGACY = "1234567"  # a legacy number without our check digit


def write(path: Path, header: str, *rows: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join((header, *rows)) + "\n").encode(encoding))
    return path


async def fetch(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def batch_of(err: str) -> str:
    found = re.search(r"batch ([0-9a-f-]{36})", err)
    assert found, err
    return found.group(1)


async def directories(database_url: str, tmp_path: Path) -> None:
    code, _, err = await kopilka(database_url, "import", "networks", str(write(
        tmp_path / "networks.csv", "id,code,name", "n1,west,Захід")))
    assert code == 0, err
    code, _, err = await kopilka(database_url, "import", "stores", str(write(
        tmp_path / "stores.csv", "id;code;name;networks", "s1;lviv-1;Львів 1;west",
        "s2;kyiv-1;Київ 1;", encoding="cp1251")))
    assert code == 0, err
    code, _, err = await kopilka(database_url, "import", "card-types", str(write(
        tmp_path / "types.csv", "id,code,name,accrual_bps,number_prefix",
        "t1,std,Стандарт,300,2100")))
    assert code == 0, err


async def test_members_points_sales_rejects_rerun_and_rollback(database_url: str,
                                                               tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    assert [tuple(r) for r in await fetch(
        database_url, "SELECT store_code, network_code FROM store_network_members")] == [
        ("lviv-1", "west")]
    # windows-1251, as 1C writes it: a legacy card, a bad phone, a duplicate across rows
    members = write(
        tmp_path / "members_1c.csv",
        "id;card_number;card_type;phone;email;first_name;last_name",
        f"g1;{OUR_CARD};std;067 123 45 67;;Олена;Петренко",
        f"g2;{LEGACY};std;+380 50 000 11 22;b@example.com;Іван;Сидоренко",
        "g3;;;12345;;Bad;Phone",
        "g4;;;0671234567;;Same;Phone",
        encoding="cp1251")
    rejects = tmp_path / "rejects.csv"
    code, _, err = await kopilka(database_url, "import", "members", str(members), "--source", "1c",
                                 "--on-error", "skip", "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row"], r["id"], r["field"]) for r in rows] == [
        ("4", "g3", "phone"), ("5", "g4", "phone")]
    assert "not a valid phone number" in rows[0]["reason"]
    assert "duplicate member: phone" in rows[1]["reason"] and "row 2" in rows[1]["reason"]
    stored = await fetch(database_url, "SELECT m.first_name, c.number, c.state FROM members m "
                         "JOIN cards c ON c.member_id = m.id ORDER BY c.number")
    assert [tuple(r) for r in stored] == [("Іван", LEGACY, "active"),
                                          ("Олена", OUR_CARD, "active")]
    flags = await fetch(database_url, "SELECT source_id, flags FROM import_records "
                        "WHERE kind = 'members' ORDER BY 1")
    assert [tuple(r) for r in flags] == [("g1", []), ("g2", ["legacy_card_number"])]
    # our next card number comes after the imported one
    assert (await fetch(database_url, "SELECT next_sequence FROM card_types"))[0][0] == 8

    # the site's export has the same person by e-mail: reported, not merged
    site = write(tmp_path / "site.csv", "id,phone,email,first_name",
                 "42,,B@Example.com,Ivan", "43,,new@example.com,Nova")
    code, _, err = await kopilka(database_url, "import", "members", str(site), "--source", "site",
                                 "--on-error", "skip", "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        reason = next(iter(csv.DictReader(f)))["reason"]
    assert "duplicate member: the email is member" in reason and "1c id g2" in reason
    assert len(await fetch(database_url, "SELECT 1 FROM members")) == 3

    # opening balances as lots with their expiry; a negative one and an unknown card refused
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()
    points = write(tmp_path / "points.csv", "id,card_number,points,expiry_at",
                   f"p1,{OUR_CARD},500,{soon}", f"p2,{OUR_CARD},250,", f"p3,{LEGACY},100,",
                   f"p4,{LEGACY},-5,", "p5,2999999999999,10,")
    code, _, err = await kopilka(database_url, "import", "points", str(points), "--dry-run",
                                 "--on-error", "skip")
    assert code == 0, err
    assert "dry run, nothing written" in err and re.search(r"to import\s+3 rows\s+850", err)
    assert re.search(r"source\s+5 rows\s+860", err) and re.search(r"rejected\s+2 rows", err)
    assert await fetch(database_url, "SELECT 1 FROM point_lots") == []
    code, _, err = await kopilka(database_url, "import", "points", str(points), "--on-error",
                                 "reject-all")
    assert code == 1 and "nothing was imported (--on-error reject-all)" in err
    assert await fetch(database_url, "SELECT 1 FROM point_lots") == []
    code, _, err = await kopilka(database_url, "import", "points", str(points), "--on-error",
                                 "skip")
    assert code == 0, err
    assert re.search(r"imported\s+3 rows\s+850", err), err
    balances = await fetch(database_url, "SELECT c.number, kopilka_spendable_points(c.member_id, "
                           "now()) FROM cards c ORDER BY 1")
    assert [tuple(r) for r in balances] == [(LEGACY, 100), (OUR_CARD, 750)]
    lots = await fetch(database_url, "SELECT l.points_initial, l.expiry_at IS NOT NULL, t.reason "
                       "FROM point_lots l JOIN ledger_transactions t ON t.id = l.tx_id "
                       "ORDER BY 1")
    assert [tuple(r) for r in lots] == [(100, False, "import"), (250, False, "import"),
                                        (500, True, "import")]
    points_batch = batch_of(err)
    # a re-run imports only what changed: nothing
    code, _, err = await kopilka(database_url, "import", "points", str(points), "--on-error",
                                 "skip")
    assert re.search(r"unchanged\s+3 rows", err) and re.search(r"imported\s+0 rows", err), err
    assert len(await fetch(database_url, "SELECT 1 FROM point_lots")) == 3

    # 1C sales feed the purchase history; history mode: no accrual, no outbox event
    sales = write(tmp_path / "sales.csv",
                  "receipt_id;store_code;receipt_number;card_number;sold_at;line_no;sku;"
                  "quantity_milli;amount_minor",
                  f"r1;lviv-1;0001;{OUR_CARD};2025-03-01 10:00;1;MILK;1000;4500",
                  f"r1;lviv-1;0001;{OUR_CARD};2025-03-01 10:00;2;BREAD;2000;3000",
                  "r2;lviv-1;0002;;2025-03-02 11:00;1;MILK;1000;4500",
                  "r3;nowhere;0003;;2025-03-02 11:00;1;MILK;1000;4500",
                  encoding="cp1251")
    code, _, err = await kopilka(database_url, "import", "sales", str(sales), "--on-error", "skip")
    assert code == 0, err
    receipts = await fetch(database_url, "SELECT r.receipt_number, r.total_minor, "
                           "r.member_id IS NOT NULL, jsonb_array_length(d.lines), "
                           "d.points_accrued FROM receipts r JOIN receipt_details d "
                           "ON d.receipt_id = r.id ORDER BY 1")
    assert [tuple(r) for r in receipts] == [("0001", 7500, True, 2, 0),
                                            ("0002", 4500, False, 1, 0)]
    assert await fetch(database_url, "SELECT 1 FROM outbox") == []
    assert len(await fetch(database_url, "SELECT 1 FROM point_lots")) == 3  # no accrual
    assert len(await fetch(database_url, "SELECT 1 FROM import_batches")) >= 7

    # rollback removes the points batch whole; once points are spent it is refused
    conn = await asyncpg.connect(database_url)
    try:
        tx = await conn.fetchval("SELECT id FROM ledger_transactions LIMIT 1")
        member = await conn.fetchval("SELECT member_id FROM cards WHERE number = $1", OUR_CARD)
        async with conn.transaction():
            spend_tx = await conn.fetchval(
                "INSERT INTO ledger_transactions (id, kind) VALUES (gen_random_uuid(), 'redeem') "
                "RETURNING id")
            assert await conn.fetchval("SELECT kopilka_spend_points($1, 10, $2, now())",
                                       member, spend_tx) == 740
    finally:
        await conn.close()
    assert tx is not None
    code, _, err = await kopilka(database_url, "import", "rollback", points_batch)
    assert code == 1 and "points of batch" in err and "spent" in err, err
    assert len(await fetch(database_url, "SELECT 1 FROM point_lots")) == 3


async def test_rollback_resume_and_stop(database_url: str, tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    members = write(tmp_path / "m.csv", "id,card_number,card_type,phone",
                    *(f"m{i},{card_number('2100', i)},std,+38067{i:07d}" for i in range(1, 6)),
                    "m6,,,not a phone", "m7,,,+380671111111")
    code, _, err = await kopilka(database_url, "import", "members", str(members))  # --on-error stop
    assert code == 1 and "stopped at row 7" in err, err
    assert len(await fetch(database_url, "SELECT 1 FROM members")) == 5
    # fixed file: the five are unchanged, the rest imported
    members.write_text(members.read_text().replace("not a phone", "+380672222222"))
    code, _, err = await kopilka(database_url, "import", "members", str(members))
    assert code == 0, err
    assert re.search(r"unchanged\s+5 rows", err) and re.search(r"to import\s+2 rows", err)
    batch = batch_of(err)
    cash = write(tmp_path / "cash.csv", "id,card_number,balance_minor",
                 f"c1,{card_number('2100', 1)},10000")
    code, _, err = await kopilka(database_url, "import", "cash-accounts", str(cash))
    assert code == 0, err
    cash_batch = batch_of(err)
    # the members of the first batch hold cash now: refused, nothing changed
    code, _, err = await kopilka(database_url, "import", "rollback", batch)
    assert code == 0, err  # the second batch's members (m6, m7) hold nothing
    assert len(await fetch(database_url, "SELECT 1 FROM members")) == 5
    code, _, err = await kopilka(database_url, "import", "rollback", cash_batch)
    assert code == 0, err
    assert await fetch(database_url, "SELECT balance FROM ledger_accounts WHERE kind = 'cash'") \
        == [] or [r[0] for r in await fetch(
            database_url, "SELECT balance FROM ledger_accounts WHERE kind = 'cash'")] == [0]
    code, _, err = await kopilka(database_url, "import", "rollback", cash_batch)
    assert code == 1 and "rolled back already" in err


async def test_catalog_directories_and_products_csv_and_commerceml(database_url: str,
                                                                   tmp_path: Path) -> None:
    for kind, rows in (("product-groups", ("g1,drinks,Напої,", "g2,juice,Соки,drinks")),
                       ("brands", ("b1,sandora,Sandora,", "b2,bad code,Bad,")),
                       ("suppliers", ("s1,acme,Acme,",))):
        code, _, err = await kopilka(database_url, "import", kind, str(write(
            tmp_path / f"{kind}.csv", "id,code,name,parent_code", *rows)), "--on-error", "skip")
        assert code == 0, err
    assert [tuple(r) for r in await fetch(
        database_url, "SELECT code, name, parent_code FROM product_groups ORDER BY 1")] == [
        ("drinks", "Напої", ""), ("juice", "Соки", "drinks")]
    assert [r[0] for r in await fetch(database_url, "SELECT code FROM brands")] == ["sandora"]
    assert [r[0] for r in await fetch(database_url, "SELECT code FROM suppliers")] == ["acme"]
    products = write(tmp_path / "products.csv",
                     "id,sku,name,group_code,brand,supplier_code,barcodes",
                     "p1,MILK-1,Молоко,drinks,sandora,acme,4820000000011;4820000000028",
                     "p2,JUICE-1,Сік,juice,sandora,acme,4820000000011",  # barcode twice
                     "p3,X-1,Нема групи,nowhere,,acme,")
    rejects = tmp_path / "rejects.csv"
    code, _, err = await kopilka(database_url, "import", "products", str(products), "--on-error",
                                 "skip", "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        assert [(r["id"], r["field"]) for r in csv.DictReader(f)] == [
            ("p3", "group_code")]
    stored = await fetch(database_url, "SELECT p.sku, p.group_code, array_agg(b.barcode ORDER BY "
                         "b.barcode) FROM products p LEFT JOIN product_barcodes b ON b.sku = p.sku"
                         " GROUP BY 1, 2 ORDER BY 1")
    # a barcode given to two products in one file goes to the first row's product
    assert [tuple(r) for r in stored] == [
        ("JUICE-1", "juice", [None]), ("MILK-1", "drinks", ["4820000000011", "4820000000028"])]
    batch = batch_of(err)
    # CommerceML through the onec plugin's parser (offers.xml next to it is read along)
    fixtures = Path(__file__).parents[1] / "plugins" / "fixtures" / "onec"
    for name in ("import.xml", "offers.xml"):
        (tmp_path / name).write_bytes((fixtures / name).read_bytes())
    code, _, err = await kopilka(database_url, "import", "products", str(tmp_path / "import.xml"),
                                 "--source", "1c", "--on-error", "skip")
    assert code == 0, err
    # its groups are 1C's GUIDs, unknown to the groups imported above: refused, reported
    assert "unknown product group 0a1b2c3d-" in err, err
    assert await fetch(database_url, "SELECT 1 FROM products WHERE sku = 'SOK-001'") == []
    await fetch(database_url, "DELETE FROM product_groups")
    code, _, err = await kopilka(database_url, "import", "products", str(tmp_path / "import.xml"),
                                 "--source", "1c", "--on-error", "skip")
    assert code == 0, err
    juice = await fetch(database_url, "SELECT p.name, p.brand, b.barcode FROM products p JOIN "
                        "product_barcodes b ON b.sku = p.sku WHERE p.sku = 'SOK-001'")
    assert [tuple(r) for r in juice] == [("Сік яблучний «Садочок» 1 л", "Sandora",
                                          "4820016250017")]
    xml_batch = batch_of(err)
    # rolling the CSV batch back removes its products, not those of the CommerceML batch
    code, _, err = await kopilka(database_url, "import", "rollback", batch)
    assert code == 0, err
    skus = [r[0] for r in await fetch(database_url, "SELECT sku FROM products ORDER BY 1")]
    assert "MILK-1" not in skus and "SOK-001" in skus
    code, _, err = await kopilka(database_url, "import", "rollback", xml_batch)
    assert code == 0, err
    assert await fetch(database_url, "SELECT 1 FROM products") == []


async def test_certificates_with_balances_and_states_and_their_rollback(
        database_url: str, tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO certificate_types (code, name, kind, currency, denominations, "
            "barcode_format, number_prefix, next_sequence, remainder_policy, valid_days, "
            "expired_refund_policy, refund_extension_days, product_skus, product_groups, "
            "template, min_denomination_minor, max_denomination_minor, denomination_step_minor) "
            "VALUES ('gift', 'Gift', 'money', 'UAH', '{}', 'ean13', '2400', 1, 'keep', 365, "
            "'reactivate', 30, '{}', '{}', '', 1, 1000000, 1)")
    finally:
        await conn.close()
    certificates = write(
        tmp_path / "certificates.csv",
        "id,number,type_code,state,denomination_minor,balance_minor,store_code",
        "c1,GC-1,gift,active,100000,40000,lviv-1", "c2,GC-2,gift,redeemed,50000,0,",
        "c3,GC-3,gift,active,50000,-1,", "c4,GC-4,gift,active,50000,60000,",
        "c5,GC-5,nosuch,active,50000,100,", "c6,GC-6,gift,lost,50000,100,")
    rejects = tmp_path / "rejects.csv"
    code, _, err = await kopilka(database_url, "import", "certificates", str(certificates),
                                 "--on-error", "skip", "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        refused = {r["id"]: (r["field"], r["reason"]) for r in csv.DictReader(f)}
    assert {k: v[0] for k, v in refused.items()} == {
        "c3": "balance_minor", "c4": "balance_minor", "c5": "type_code", "c6": "state"}
    assert refused["c3"][1] == "negative"
    assert re.search(r"imported\s+2 rows\s+40,000", err), err
    stored = await fetch(database_url, "SELECT c.number, c.state, c.balance_minor, "
                         "coalesce(sum(e.amount_minor), 0) FROM certificates c LEFT JOIN "
                         "certificate_entries e ON e.certificate_id = c.id GROUP BY 1, 2, 3 "
                         "ORDER BY 1")
    # balance = sum of entries: an issue entry of the imported balance
    assert [tuple(r) for r in stored] == [("GC-1", "active", 40000, 40000),
                                          ("GC-2", "redeemed", 0, 0)]
    batch = batch_of(err)
    # a re-run with a changed balance is refused (money is booked once), nothing changes
    changed = write(tmp_path / "changed.csv",
                    "id,number,type_code,state,denomination_minor,balance_minor,store_code",
                    "c1,GC-1,gift,active,100000,30000,lviv-1")
    code, _, err = await kopilka(database_url, "import", "certificates", str(changed))
    assert code == 1 and "changed since it was imported" in err, err
    assert (await fetch(database_url, "SELECT balance_minor FROM certificates "
                        "WHERE number = 'GC-1'"))[0][0] == 40000
    # used since: the rollback is refused whole
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO certificate_entries (certificate_id, kind, amount_minor, "
            "balance_after_minor, note) SELECT id, 'redeem', -1000, 39000, 'till' "
            "FROM certificates WHERE number = 'GC-1'")
        code, _, err = await kopilka(database_url, "import", "rollback", batch)
        assert code == 1 and "were used since" in err, err
        assert len(await conn.fetch("SELECT 1 FROM certificates")) == 2
        async with conn.transaction():
            await conn.execute("ALTER TABLE certificate_entries DISABLE TRIGGER USER")
            await conn.execute("DELETE FROM certificate_entries WHERE note = 'till'")
            await conn.execute("ALTER TABLE certificate_entries ENABLE TRIGGER USER")
    finally:
        await conn.close()
    code, _, err = await kopilka(database_url, "import", "rollback", batch)
    assert code == 0, err
    assert await fetch(database_url, "SELECT 1 FROM certificates") == []
    assert await fetch(database_url, "SELECT 1 FROM certificate_entries") == []


async def test_interrupted_run_resumes_from_its_checkpoint(database_url: str, tmp_path: Path,
                                                           monkeypatch: object) -> None:
    from server.audit.actor import acting, cli_actor
    from server.db.imports.store import Batches, ImportStore
    from server.imports import service
    from server.imports.kinds import KINDS
    from server.imports.model import Policy

    await directories(database_url, tmp_path)
    cards = [card_number("2100", i) for i in range(1, 8)]
    code, _, err = await kopilka(database_url, "import", "members", str(write(
        tmp_path / "m.csv", "id,card_number,card_type,phone",
        *(f"m{i},{c},std,+38067{i:07d}" for i, c in enumerate(cards, start=1)))))
    assert code == 0, err
    points = write(tmp_path / "points.csv", "id,card_number,points",
                   *(f"p{i},{c},{i * 100}" for i, c in enumerate(cards, start=1)))

    class Interrupted(Exception):
        pass

    class FailingStore(ImportStore):
        """The process dies after the second chunk was committed."""

        applied = 0

        async def apply_chunk(self, *args: object, **kw: object) -> int:  # type: ignore[override]
            if self.applied == 2:
                raise Interrupted
            self.applied += 1
            return await super().apply_chunk(*args, **kw)  # type: ignore[arg-type]

    with mock.patch.object(service, "APPLY_CHUNK", 2):
        conn = await asyncpg.connect(database_url)
        try:
            with acting(cli_actor()):
                try:
                    await service.run_import(
                        FailingStore(conn, KINDS["points"], "default"), Batches(conn),
                        kind_name="points", files=[points], source="default",
                        policy=Policy.STOP, dry_run=False, principal="test",
                        now=dt.datetime.now(dt.UTC))
                except Interrupted:
                    pass
                else:
                    raise AssertionError("the run was not interrupted")
        finally:
            await conn.close()
        state = await fetch(database_url, "SELECT state, checkpoint_row FROM import_batches "
                            "WHERE kind = 'points'")
        assert [tuple(r) for r in state] == [("running", 5)]  # rows 2-5 (two chunks of two)
        assert sorted(r[0] for r in await fetch(
            database_url, "SELECT points_initial FROM point_lots")) == [100, 200, 300, 400]
        code, _, err = await kopilka(database_url, "import", "points", str(points))
    assert code == 0, err
    assert "(resumed)" in err and re.search(r"imported\s+7 rows\s+2,800", err), err
    assert re.search(r"unchanged\s+4 rows", err), err
    lots = await fetch(database_url, "SELECT points_initial FROM point_lots ORDER BY 1")
    assert [r[0] for r in lots] == [100, 200, 300, 400, 500, 600, 700]  # none twice
    assert [tuple(r) for r in await fetch(
        database_url, "SELECT count(*), sum(balance) FROM ledger_accounts WHERE kind = 'points'")
    ] == [(7, 2800)]
    assert [r[0] for r in await fetch(database_url, "SELECT state FROM import_batches "
                                      "WHERE kind = 'points'")] == ["done"]


async def test_dry_run_report_streams_per_member(database_url: str, tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    cards = [card_number("2100", i) for i in range(1, 4)]
    code, _, err = await kopilka(database_url, "import", "members", str(write(
        tmp_path / "m.csv", "id,card_number,card_type,phone",
        *(f"m{i},{c},std,+38067{i:07d}" for i, c in enumerate(cards, start=1)))))
    assert code == 0, err
    cash = write(tmp_path / "cash.csv", "id,card_number,balance_minor",
                 f"c1,{cards[0]},1000", f"c2,{cards[0]},500", f"c3,{cards[1]},-7",
                 f"c4,{cards[2]},300")
    report = tmp_path / "report.csv"
    code, _, err = await kopilka(database_url, "import", "cash-accounts", str(cash), "--dry-run",
                                 "--on-error", "skip", "--report", str(report))
    assert code == 0, err
    assert "rules: history mode fires none\n" in err
    with report.open(encoding="utf-8") as f:
        # a refused row's card is not staged (its values are not trusted): it counts in the
        # rejected total, not per member
        assert [tuple(r.values()) for r in csv.DictReader(f)] == [
            (cards[0], "1500", "1500", ""), (cards[2], "300", "300", "")]
    code, _, err = await kopilka(database_url, "import", "cash-accounts", str(cash), "--on-error",
                                 "skip", "--report", str(report))
    assert code == 0, err
    assert "members 2; imported differs from what was to be imported for 0" in err, err
    with report.open(encoding="utf-8") as f:
        assert [r["imported"] for r in csv.DictReader(f)] == ["1500", "300"]


async def test_sql_phone_matches_python_normalize_phone(database_url: str) -> None:
    """kopilka_ua_phone (the SQL parse's phone) answers only where normalize_phone accepts,
    and then the same E.164; everything else it leaves to Python (NULL)."""
    from server.members.contacts import normalize_phone

    notations = []
    for code in ("39", "50", "63", "66", "67", "68", "73", "91", "95", "99", "44", "32", "00",
                 "80", "12"):
        for rest in ("1234567", "0000000", "9876543"):
            n = code + rest
            notations += [f"0{n}", f"+380{n}", f"380{n}", f"+38 (0{code}) {rest[:3]}-{rest[3:5]}-"
                          f"{rest[5:]}", f"0{code}.{rest}", f"0{code} {rest[:3]} {rest[3:]}",
                          f"8{n}", f"+3800{n}", n, f"0{n}1", f"0{n[:-1]}"]
    notations += ["+48123456789", "+12025550123", "12345", "not a phone", "+380", ""]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT n, kopilka_ua_phone(n) AS p FROM unnest($1::text[]) n",
                                notations)
    finally:
        await conn.close()
    decided = 0
    for row in rows:
        try:
            expected: str | None = normalize_phone(row["n"])
        except ValueError:
            expected = None
        if row["p"] is not None:
            decided += 1
            assert row["p"] == expected, (row["n"], row["p"], expected)
    assert decided >= 150  # the common Ukrainian mobile notations are decided in SQL


async def test_malformed_rows_and_bytes_are_reported_per_row(database_url: str,
                                                             tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    # a windows-1251 file with a byte windows-1251 does not define (0x98) on one row
    path = tmp_path / "m.csv"
    path.write_bytes(b"id,phone,first_name\nm1,+380671111111,Ok\nm2,+380672222222,Bad\x98\n"
                     + "m3,+48123456789,Польща\n".encode("cp1251"))
    rejects = tmp_path / "rejects.csv"
    code, _, err = await kopilka(database_url, "import", "members", str(path), "--on-error", "skip",
                                 "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        assert [(r["row"], r["field"]) for r in csv.DictReader(f)] == [("3", "(encoding)")]
    stored = await fetch(database_url, "SELECT phone FROM members ORDER BY 1")
    assert [r[0] for r in stored] == ["+380671111111", "+48123456789"]  # Python decided +48
    # a row with an extra value: COPY cannot read the file, Python reads it row by row
    path.write_text("id,phone,first_name\nm4,+380673333333,A\nm5,+380674444444,B,extra\n"
                    "m6,067 555 55 55,C\n", encoding="utf-8")
    code, _, err = await kopilka(database_url, "import", "members", str(path), "--on-error", "skip",
                                 "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(encoding="utf-8") as f:
        assert [(r["row"], r["field"]) for r in csv.DictReader(f)] == [("3", "(columns)")]
    stored = await fetch(database_url, "SELECT phone FROM members ORDER BY 1")
    assert [r[0] for r in stored] == ["+380671111111", "+380673333333", "+380675555555",
                                      "+48123456789"]


async def test_a_role_that_may_not_skip_ri_triggers_imports_the_same(database_url: str,
                                                                     tmp_path: Path) -> None:
    """Without the right to set session_replication_role the chunks keep the foreign keys'
    triggers (store.ImportStore._without_ri_triggers); the rows are the same."""
    from server.audit.actor import acting, cli_actor
    from server.db.imports.store import Batches, ImportStore
    from server.imports import service
    from server.imports.kinds import KINDS
    from server.imports.model import Policy

    await directories(database_url, tmp_path)
    role = "kopilka_import_plain"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                           f"'{role}') THEN CREATE ROLE {role} LOGIN; END IF; END $$")
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO {role}')
        for what in ("TABLES", "SEQUENCES", "FUNCTIONS"):
            await conn.execute(f"GRANT ALL ON ALL {what} IN SCHEMA public TO {role}")
    finally:
        await conn.close()
    cards = [card_number("2100", i) for i in range(1, 4)]
    files = {
        "members": write(tmp_path / "m.csv", "id,card_number,card_type,phone",
                         *(f"m{i},{c},std,+38067{i:07d}" for i, c in enumerate(cards, 1))),
        "points": write(tmp_path / "p.csv", "id,card_number,points",
                        *(f"p{i},{c},{i * 100}" for i, c in enumerate(cards, 1))),
        "sales": write(tmp_path / "s.csv", "receipt_id,store_code,receipt_number,card_number,"
                       "sold_at,line_no,sku,quantity_milli,amount_minor",
                       f"r1,lviv-1,1,{cards[0]},2025-03-01,1,MILK,1000,4500",
                       f'r1,lviv-1,1,{cards[0]},2025-03-01,2,"Хліб ""1""\\x",1000,3000',
                       "r2,lviv-1,2,,2025-03-01,1,MILK,1000,4500")}
    conn = await asyncpg.connect(database_url, user=role)
    try:
        for kind, path in files.items():
            store = ImportStore(conn, KINDS[kind], "plain")
            with acting(cli_actor()):
                result = await service.run_import(
                    store, Batches(conn), kind_name=kind, files=[path], source="plain",
                    policy=Policy.STOP, dry_run=False, principal="test",
                    now=dt.datetime.now(dt.UTC))
            assert store._replica is False, kind  # the triggers ran
            assert result.report.imported is not None and result.report.rejected.rows == 0
    finally:
        await conn.close()
    assert [tuple(r) for r in await fetch(
        database_url, "SELECT c.number, a.balance FROM cards c JOIN ledger_accounts a ON "
        "a.member_id = c.member_id AND a.kind = 'points' ORDER BY 1")] == [
        (c, (i + 1) * 100) for i, c in enumerate(cards)]
    assert [tuple(r) for r in await fetch(
        database_url, "SELECT receipt_number, total_minor, member_id IS NOT NULL FROM receipts "
        "ORDER BY 1")] == [("1", 7500, True), ("2", 4500, False)]
    # the lines' JSON (written as text in SQL): numbers, and a SKU with quotes and a backslash
    lines = await fetch(database_url, "SELECT d.lines::text FROM receipt_details d JOIN receipts "
                        "r ON r.id = d.receipt_id WHERE r.receipt_number = '1'")
    assert json.loads(lines[0][0]) == [
        {"line_no": n, "quantity_milli": 1000, "final_amount_minor": amount, "accrual_points": 0,
         "points_discount_minor": 0, "sku": sku}
        for n, sku, amount in ((1, "MILK", 4500), (2, 'Хліб "1"\\x', 3000))]


async def test_the_tables_written_without_triggers_have_none_of_their_own(
        database_url: str) -> None:
    """A chunk in replica mode skips every ordinary trigger of the tables it writes, not only
    the RI ones (apply.REFERENCES): a trigger added to one of them must be decided on here."""
    tables = ["members", "cards", "card_state_changes", "import_records", "point_lots",
              "lot_movements", "ledger_accounts", "ledger_entries", "receipts",
              "receipt_details", "card_types"]
    rows = await fetch(database_url, "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                       "WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY($1::text[])",
                       tables)
    assert [tuple(r) for r in rows] == []


PREVIEW_RULES = """
schema_version: 1
name: import-preview
settings: {currency: UAH, timezone: Europe/Kyiv}
rules:
  - {id: dairy-10, target: [{groups: [dairy]}], benefit: {type: percent, percent: "10%"}}
  - {id: bakery-3-for-2, target: [{groups: [bakery]}], benefit: {type: m_for_n, buy: 3, pay: 2}}
"""


async def test_a_dry_run_of_sales_says_what_todays_rules_would_have_given(
        database_url: str, tmp_path: Path) -> None:
    await directories(database_url, tmp_path)
    code, _, err = await kopilka(database_url, "import", "product-groups", str(write(
        tmp_path / "g.csv", "id,code,name", "g1,dairy,Молочне", "g2,bakery,Хліб")))
    assert code == 0, err
    code, _, err = await kopilka(database_url, "import", "products", str(write(
        tmp_path / "p.csv", "id,sku,name,group_code", "p1,MILK,Молоко,dairy",
        "p2,BREAD,Батон,bakery")))
    assert code == 0, err
    code, _, err = await kopilka(database_url, "import", "members", str(write(
        tmp_path / "m.csv", "id,card_number,card_type,phone", f"m1,{OUR_CARD},std,+380671112233")))
    assert code == 0, err
    rules = tmp_path / "rules.yaml"
    rules.write_text(PREVIEW_RULES, encoding="utf-8")
    code, _, err = await kopilka(database_url, "rules", "apply", str(rules))
    assert code == 0, err
    sales = write(tmp_path / "sales.csv",
                  "receipt_id;store_code;receipt_number;card_number;sold_at;line_no;sku;"
                  "quantity_milli;amount_minor",
                  f"r1;lviv-1;0001;{OUR_CARD};2025-03-01 10:00;1;MILK;1000;4500",
                  f"r1;lviv-1;0001;{OUR_CARD};2025-03-01 10:00;2;BREAD;3000;4500",
                  "r2;kyiv-1;0002;;2025-03-02 11:00;1;MILK;2000;9000",
                  "r3;nowhere;0003;;2025-03-02 11:00;1;MILK;1000;4500")
    code, _, err = await kopilka(database_url, "import", "sales", str(sales), "--dry-run",
                                 "--on-error", "skip")
    assert code == 0, err
    # r1: 10% of 45.00 milk and one of three 15.00 loaves free; r2: 10% of 90.00 milk; r3 is
    # refused (unknown store) and not priced. Points: the card type's 3% of what r1 would
    # have cost (45.00 - 4.50 + 45.00 - 15.00 = 70.50 -> 211); r2 has no card.
    assert ("rules: history mode fires none; today's rules would have given 2 receipts 28.50 "
            "of discounts on 2 of them and 211 points") in err, err
    assert re.search(r"dairy-10\s+13\.50 on 2 receipt\(s\)", err), err
    assert re.search(r"bakery-3-for-2\s+15\.00 on 1 receipt\(s\)", err), err
    assert await fetch(database_url, "SELECT 1 FROM receipts") == []  # a dry run writes none
