"""`kopilka certificates ...` through the real command-line entry point on the test database.

main() runs in a worker thread (it starts its own event loop, as it does in a shell).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from kopilka.v1 import certificates_pb2 as C

from server.members.cards import card_number
from tests.cli import kopilka
from tests.e2e.certificates_helpers import money_type, redeem, setup_stores, upsert_type


async def test_issue_export_report_expire(admin, database_url, tmp_path):
    await setup_stores(admin)
    await upsert_type(admin, money_type(template="{name} {denomination} {currency}"))
    code, _, err = await kopilka(database_url, "certificates", "issue", "--type", "gift",
                                 "--count", "250", "--store", "kyiv-01", "--denomination", "50000",
                                 "--print-only")
    assert code == 0, err
    assert "issued 100/250 (40%)" in err and "issued 250/250 (100%)" in err
    last = card_number("2100", 250)
    assert f"{card_number('2100', 1)} .. {last}" in err
    reply = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=last))
    assert reply.certificate.state == C.CERTIFICATE_STATE_NEW

    code, _, err = await kopilka(database_url, "certificates", "export", "--format", "csv",
                                 "--out", str(tmp_path / "csv"), "--state", "new")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "csv" / "certificates.csv").read_text())))
    assert len(rows) == 250 and rows[-1]["number"] == last
    assert (rows[0]["barcode_format"], rows[0]["denomination"], rows[0]["text"]) == (
        "ean13", "500.00", "Gift gift 500.00 UAH")

    await admin.certificates.ActivateCertificate(C.ActivateCertificateRequest(
        request_id="00000000-0000-4000-8000-000000000001", number=last, store_code="kyiv-01"))
    await redeem(admin, last, 12345)
    code, _, err = await kopilka(database_url, "certificates", "export", "--format", "svg",
                                 "--out", str(tmp_path / "svg"), "--state", "active")
    assert code == 0, err
    svg = (tmp_path / "svg" / f"{last}.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "Gift gift 500.00 UAH" in svg
    assert [p.name for p in (tmp_path / "svg").iterdir()] == [f"{last}.svg"]

    today = dt.datetime.now(dt.UTC).date()
    code, out, err = await kopilka(database_url, "certificates", "report", "--from",
                                   str(today - dt.timedelta(1)), "--to",
                                   str(today + dt.timedelta(days=2)))
    assert code == 0, err
    _header, row = out.strip().splitlines()
    assert row.split("\t") == ["kyiv-01", "UAH", "1", "500.00", "123.45", "0.00", "0.00",
                               "0", "0.00", "1", "376.55"]

    code, _, err = await kopilka(database_url, "certificates", "expire")
    assert code == 0 and "expired 0 certificates" in err
    code, _, err = await kopilka(database_url, "certificates", "issue", "--type", "nope",
                                 "--store", "kyiv-01")
    assert code == 2 and "CERTIFICATE_TYPE_NOT_FOUND" in err
