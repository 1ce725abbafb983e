"""ImportService through the generated client on a real server: a file under the import
directory, an upload, progress streamed, the refusals, and the metrics the server serves."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import grpc
import pytest
from kopilka.v1 import imports_pb2 as I

from server.members.cards import card_number
from tests.e2e.test_imports import directories, fetch, write


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    folder = tmp_path / "imports"
    folder.mkdir()
    return Settings(grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
                    log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
                    import_dir=folder)


def metric(port: int, kind: str, outcome: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for line in body.splitlines():
        if line.startswith(f'kopilka_import_rows_total{{kind="{kind}",outcome="{outcome}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_run_and_upload_with_progress_and_refusals(app, admin, make_key, client_for,
                                                         settings, database_url: str,
                                                         tmp_path: Path) -> None:
    from server.runtime import start_metrics_server

    await directories(database_url, tmp_path)
    port = start_metrics_server(settings)
    folder = settings.import_dir
    cards = [card_number("2100", i) for i in range(1, 6)]
    write(folder / "members.csv", "id,card_number,card_type,phone",
          *(f"m{i},{c},std,+38067{i:07d}" for i, c in enumerate(cards, start=1)),
          "m6,,,not a phone")
    before = metric(port, "members", "written")
    options = I.ImportOptions(kind="members", source="site", on_error="skip")
    messages = [m.progress async for m in admin.imports.RunImport(I.RunImportRequest(
        request_id="r1", options=options, path="members.csv"))]
    last = messages[-1]
    assert last.done and last.phase == "done" and not last.dry_run
    assert (last.rows_read, last.rows_imported, last.rows_rejected) == (6, 5, 1)
    assert [(r.row, r.field) for r in last.rejects] == [(7, "phone")]
    assert {m.phase for m in messages[:-1]} <= {"staging", "checking", "importing"}
    assert any(m.phase == "importing" and m.rows_imported == 5 for m in messages)
    assert len(await fetch(database_url, "SELECT 1 FROM members")) == 5
    assert metric(port, "members", "written") == before + 5  # served by the running server
    assert metric(port, "members", "rejected") >= 1
    batch = await fetch(database_url, "SELECT principal FROM import_batches WHERE id = $1::uuid",
                        last.batch_id)
    assert batch[0][0].endswith("test admin")

    # an upload, in chunks, dry run: checked and reconciled, nothing written
    data = "id,card_number,points\n" + "".join(f"p{i},{c},{i * 100}\n"
                                               for i, c in enumerate(cards, start=1))
    first = I.UploadImportRequest(request_id="u1", options=I.ImportOptions(
        kind="points", dry_run=True, file_name="points.csv"), chunk=data[:10].encode())
    chunks = [first, *(I.UploadImportRequest(chunk=data[i:i + 10].encode())
                       for i in range(10, len(data), 10))]

    async def upload():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    messages = [m.progress async for m in admin.imports.UploadImport(upload())]
    assert messages[-1].dry_run and messages[-1].source_amount == 1500
    assert messages[-1].rows_read == 5 and messages[-1].rows_rejected == 0
    assert await fetch(database_url, "SELECT 1 FROM point_lots") == []
    assert not messages[-1].HasField("rules")  # priced for a dry run of sales only

    # a dry run of sales says what the server's rules would have given them
    write(folder / "sales.csv", "receipt_id,store_code,receipt_number,card_number,sold_at,"
          "line_no,sku,quantity_milli,amount_minor",
          f"r1,lviv-1,0001,{cards[0]},2025-03-01 10:00,1,MILK,1000,6000",
          f"r1,lviv-1,0001,{cards[0]},2025-03-01 10:00,2,MILK,2000,4000")
    messages = [m.progress async for m in admin.imports.RunImport(I.RunImportRequest(
        options=I.ImportOptions(kind="sales", dry_run=True), path="sales.csv"))]
    rules = messages[-1].rules
    # no promotions here; the card type's 3% of 100.00
    assert (rules.receipts, rules.discount_minor, rules.points) == (1, 0, 300)
    assert await fetch(database_url, "SELECT 1 FROM receipts") == []

    # refusals: outside the directory, '..', a symlink out of it, a missing column, no right
    outside = tmp_path / "secret.csv"
    write(outside, "id,code,name", "x,y,z")
    (folder / "link.csv").symlink_to(outside)
    write(folder / "bad.csv", "id,nothing", "1,2")
    for path, reason in ((str(outside), "outside the import directory"),
                         ("../secret.csv", "may not contain '..'"),
                         ("link.csv", "outside the import directory"),
                         ("nowhere.csv", "no such file")):
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            [m async for m in admin.imports.RunImport(I.RunImportRequest(
                options=I.ImportOptions(kind="networks"), path=path))]
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        assert reason in (failure.value.details() or "") or reason in str(
            failure.value.trailing_metadata()), (path, failure.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        [m async for m in admin.imports.RunImport(I.RunImportRequest(
            options=I.ImportOptions(kind="networks"), path="bad.csv"))]
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no column code" in (failure.value.details() or "")
    cashier = client_for(await make_key("cashier"))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        [m async for m in cashier.imports.RunImport(I.RunImportRequest(
            options=I.ImportOptions(kind="networks"), path="members.csv"))]
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert os.path.exists(outside)


async def test_without_an_import_directory_run_import_is_refused(app, admin,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(app.deps.settings, "import_dir", None)  # KOPILKA_IMPORT_DIR unset
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        [m async for m in admin.imports.RunImport(I.RunImportRequest(
            options=I.ImportOptions(kind="members"), path="members.csv"))]
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "KOPILKA_IMPORT_DIR" in (failure.value.details() or "")


async def test_kopilka_client_prints_the_progress_stream(app, make_key, settings,
                                                         database_url: str) -> None:
    import json

    from kopilka.cli import call

    write(settings.import_dir / "networks.csv", "id,code,name", "n1,west,Захід")
    answer = await call(f"127.0.0.1:{app.grpc_port}", await make_key("integrator"),
                        "ImportService", "RunImport",
                        '{"options": {"kind": "networks"}, "path": "networks.csv"}')
    lines = [json.loads(line) for line in answer.splitlines()]
    assert lines[-1]["progress"]["done"] and lines[-1]["progress"]["rows_imported"] == "1"
    assert [r[0] for r in await fetch(database_url, "SELECT name FROM store_networks")] == [
        "Захід"]
