"""`kopilka certificates activate --scanner DEVICE` with a pty pair as the scanner.

The test holds the pty's master end and writes what a scanner sends (codes ended by CR LF,
the barcode plugin's framing); the CLI opens the slave end through the barcode plugin
(pyserial) and activates on the test's real PostgreSQL. main() runs in a worker thread
(tests/cli.py); the Ctrl-C case runs the `kopilka` script as a subprocess and sends it
SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import tempfile
import tty
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from kopilka.v1 import certificates_pb2 as C

from server.cli import main
from server.members.cards import card_number
from tests import cli
from tests.e2e.certificates_helpers import issue, money_type, rid, setup_stores, upsert_type


class Live(io.StringIO):
    """stderr the test can wait on while the command runs in its thread."""

    async def wait_for(self, text: str, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while text not in self.getvalue():
                await asyncio.sleep(0.02)


@contextlib.contextmanager
def pty_pair() -> Iterator[tuple[int, str]]:
    """(master fd, slave path); the slave end stays open so the pair never hangs up."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no CR translation: bytes pass as a serial line's would
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def frame(code: str) -> bytes:
    return code.encode("latin-1") + b"\r\n"


def bad_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


async def run_cli(database_url: str, err: Live, *args: str) -> asyncio.Future[int]:
    """`kopilka certificates activate *args` started in-process; `err` fills as it runs."""
    return asyncio.ensure_future(asyncio.to_thread(
        cli.run, database_url, "certificates", "activate", *args, err=err))


async def audit_rows(database_url: str, number: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT principal, key_id, action FROM audit_log WHERE object_type = 'certificate'"
            " AND object_id = $1 AND action = 'activate' ORDER BY id", number)
    finally:
        await conn.close()


async def state_of(admin, number: str) -> C.CertificateState.ValueType:
    reply = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=number))
    return reply.certificate.state


async def test_a_pack_with_a_duplicate_an_unknown_and_a_misread(admin, database_url):
    await setup_stores(admin, "kyiv-01", "lviv-01")
    await upsert_type(admin, money_type())
    pack = [c.number for c in await issue(admin, count=4, denomination=50000,
                                          print_only=True)]
    first, second, blocked, sold = pack
    await admin.certificates.BlockCertificate(C.BlockCertificateRequest(
        request_id=rid(), number=blocked, reason="lost in transit"))
    await admin.certificates.ActivateCertificate(C.ActivateCertificateRequest(
        request_id=rid(), number=sold, store_code="kyiv-01"))  # sold at a till before
    unknown = card_number("2100", 9999)

    err = Live()
    with pty_pair() as (master, device):
        done = await run_cli(database_url, err, "--scanner", device, "--store", "lviv-01",
                             "--count", "6", "--idle-seconds", "20")
        await err.wait_for("ready")
        for code in (first, "]E0" + second, bad_check_digit(first), first, unknown,
                     blocked, sold):
            os.write(master, frame(code))
        code = await asyncio.wait_for(done, 60)
    out = err.getvalue()
    assert code == 0, out
    assert f"********{first[-4:]} activated (50000 UAH)" in out
    assert f"********{second[-4:]} activated (50000 UAH)" in out
    assert out.count(f"********{first[-4:]} already active (50000 UAH)") == 1  # the re-scan
    assert f"********{unknown[-4:]} unknown" in out
    assert f"********{blocked[-4:]} refused: CERTIFICATE_STATE_TRANSITION_INVALID" in out
    assert f"********{sold[-4:]} already active (50000 UAH)" in out
    assert "misread (bad check digit)" in out
    for number in (*pack, unknown):
        assert number not in out  # only the last 4 digits are ever shown
    summary = out[out.index("kopilka: 6 scans"):]
    assert "activated:      2 (face value 100000 UAH minor units)" in summary
    assert "already active: 2 (face value 100000 UAH minor units)" in summary
    assert "unknown:        1" in summary
    assert "refused:        1" in summary and "CERTIFICATE_STATE_TRANSITION_INVALID: 1" in summary
    assert "misreads dropped by the scanner (bad check digit): 1" in summary

    assert [await state_of(admin, n) for n in pack] == [
        C.CERTIFICATE_STATE_ACTIVE, C.CERTIFICATE_STATE_ACTIVE, C.CERTIFICATE_STATE_BLOCKED,
        C.CERTIFICATE_STATE_ACTIVE]
    reply = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=first))
    assert reply.certificate.store_code == "lviv-01"
    rows = await audit_rows(database_url, first)
    assert len(rows) == 1 and rows[0]["principal"].startswith("cli:")
    assert rows[0]["key_id"] is None

    # the same pack again (a second pass): every scan is a replay, nothing changes
    err = Live()
    with pty_pair() as (master, device):
        done = await run_cli(database_url, err, "--scanner", device, "--store", "lviv-01",
                             "--idle-seconds", "1.5")
        await err.wait_for("ready")
        os.write(master, frame(first) + frame(second))
        code = await asyncio.wait_for(done, 60)
    out = err.getvalue()
    assert code == 0, out
    assert "no scan for 1.5s, finishing" in out
    assert "kopilka: 2 scans" in out and "activated:      0" in out
    assert "already active: 2 (face value 100000 UAH minor units)" in out
    assert len(await audit_rows(database_url, first)) == 1


async def test_without_store_the_issuing_store_sells(admin, database_url):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin, count=1, denomination=100000, print_only=True)
    err = Live()
    with pty_pair() as (master, device):
        done = await run_cli(database_url, err, "--scanner", device, "--count", "1")
        await err.wait_for("ready")
        os.write(master, frame(cert.number))
        assert await asyncio.wait_for(done, 60) == 0, err.getvalue()
    reply = await admin.certificates.GetCertificate(C.GetCertificateRequest(number=cert.number))
    assert (reply.certificate.state, reply.certificate.store_code) == (
        C.CERTIFICATE_STATE_ACTIVE, "kyiv-01")
    assert "activated:      1 (face value 100000 UAH minor units)" in err.getvalue()


async def test_ctrl_c_still_prints_the_summary(admin, database_url):
    await setup_stores(admin)
    await upsert_type(admin, money_type())
    [cert] = await issue(admin, count=1, denomination=50000, print_only=True)
    script = Path(sys.executable).with_name("kopilka")
    with pty_pair() as (master, device):
        proc = await asyncio.create_subprocess_exec(
            str(script), "certificates", "activate", "--scanner", device, "--store", "kyiv-01",
            env={**os.environ, "KOPILKA_DATABASE_URL": database_url},
            stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL)
        assert proc.stderr is not None
        seen = b""
        async with asyncio.timeout(60):
            while b"ready" not in seen:
                seen += await proc.stderr.readline()
            os.write(master, frame(cert.number))
            while b"activated" not in seen:
                seen += await proc.stderr.readline()
            proc.send_signal(signal.SIGINT)
            rest = await proc.stderr.read()
            code = await proc.wait()
    out = (seen + rest).decode()
    assert code == 0, out
    assert "kopilka: 1 scans" in out and "activated:      1 (face value 50000 UAH" in out
    assert await state_of(admin, cert.number) == C.CERTIFICATE_STATE_ACTIVE


async def test_a_missing_device_says_what_to_do(database_url, tmp_path):
    err = Live()
    done = await run_cli(database_url, err, "--scanner", str(tmp_path / "ttyACM9"))
    assert await asyncio.wait_for(done, 30) == 2
    assert "ttyACM9 not found: plug the scanner in" in err.getvalue()
    assert "/dev/serial/by-id/" in err.getvalue()



def test_permission_denied_says_to_join_the_group():
    """main() in a forked child that drops to an ordinary user (nobody, when the tests run
    as root) on a device it may not open; the check comes before the database."""
    folder = Path(tempfile.mkdtemp(prefix="kopilka-dev-"))
    folder.chmod(0o755)
    locked = folder / "ttyUSB7"
    locked.touch(mode=0)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest, no asserts; its exit code and stderr are the answer
        code = 99
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setuid(65534)
            with os.fdopen(write_end, "w") as err, contextlib.redirect_stderr(err):
                code = main(["certificates", "activate", "--scanner", str(locked)])
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as err:
        output = err.read()
    _, status = os.waitpid(pid, 0)
    locked.unlink()
    folder.rmdir()
    assert os.waitstatus_to_exitcode(status) == 2, output
    assert f"permission denied on {locked}" in output
    assert "usermod -aG" in output and "dialout" in output
