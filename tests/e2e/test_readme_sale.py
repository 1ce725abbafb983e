"""The README's sale, run as a new user runs it: `kopilka serve --demo-data` in one process,
the shell blocks of "A sale on the demo, step by step" pasted into bash in another.

The blocks are taken from README.md itself and run as written (`./dev client ...`, pointed
at this test's server by KOPILKA_TARGET), so the walkthrough cannot drift from what works:
a sale with points paid after SMS verification (the code read from the development SMS
channel's line on the server's terminal, typed in at the README's prompt), a certificate
payment, a refund and a cancellation. Then the outcome is checked through the generated
client, and the server's start-up output for what a first run should not show.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
from kopilka.v1 import (
    certificates_pb2,
    mailings_pb2,
    mailings_pb2_grpc,
    members_pb2,
    members_pb2_grpc,
    receipts_pb2,
)
from kopilka.v1 import certificates_pb2_grpc as certificates_grpc

from tests.e2e.test_cli_serve import KOPILKA, Output, wait_serving
from tests.ports import idle_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A sale on the demo, step by step"


def readme_blocks() -> list[str]:
    """The ```sh blocks of the walkthrough section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```sh\n(.*?)```", text[start:end if end > 0 else None], re.S)


def test_the_walkthrough_is_the_whole_sale() -> None:
    """What the run below proves is in the README, not only in this test."""
    script = "\n".join(readme_blocks())
    for call in ("MemberService FindMember", "ReceiptService CalculateReceipt",
                 "VerificationService SendVerificationCode",
                 "VERIFICATION_OPERATION_CONFIRM_RECEIPT",
                 "read -r CODE", "VerificationService VerifySMS", "\"verification_token\"",
                 "CertificateService IssueCertificate", "gift-500", "PAYMENT_METHOD_CERTIFICATE",
                 "ReceiptService RefundReceipt", "ReceiptService CancelReceipt",
                 "MemberService ListPurchases", "MailingService ListMailings"):
        assert call in script, call
    assert script.count("./dev client") >= 12 and "kopilka-client " not in script


def _mailings(target: str) -> mailings_pb2.ListMailingsResponse:
    with grpc.insecure_channel(target) as channel:
        return mailings_pb2_grpc.MailingServiceStub(channel).ListMailings(
            mailings_pb2.ListMailingsRequest(channel="sms"), timeout=10,
            metadata=(("authorization", "Bearer kpk_demo_operator"),))


def test_the_readme_sale_runs_as_written_on_the_demo() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="kopilka-readme-"))
    data_dir.chmod(0o755)  # as `mkdir .kopilka` makes it: no runtime-dir warning for that
    port = idle_port()
    target = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("KOPILKA_DATABASE_URL", "XDG_RUNTIME_DIR", "KOPILKA_API_KEY")}
    env.update(KOPILKA_DATA_DIR=str(data_dir), KOPILKA_GRPC_LISTEN=target,
               KOPILKA_METRICS_LISTEN="127.0.0.1:0", KOPILKA_LOG_FORMAT="text")
    server = subprocess.Popen([KOPILKA, "serve", "--demo-data"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    output = Output(server.stderr)
    shell = None
    try:
        wait_serving(target, server)
        banner = output.wait_for(r"kpk_demo_cashier .*")[0]
        assert "store kyiv-01" in banner and "till-1" in banner
        output.wait_for(r"certificate types .*gift-500")

        script = "set -euo pipefail\n" + "\n".join(readme_blocks()) + \
            '\necho "RESULT $CARD $SALE $PAID $CERT"\n'
        shell_env = dict(env, KOPILKA_TARGET=target, KOPILKA_VENV=sys.prefix)
        shell = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=shell_env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert shell.stdin is not None
        # the README's prompt waits for the code the server's terminal shows
        sms = output.wait_for(r"\[dev SMS to \+38067\*\*\*4567\] .*?(\d{6})")
        shell.stdin.write(sms[1] + "\n")
        shell.stdin.flush()
        stdout, stderr = shell.communicate(timeout=120)
        assert shell.returncode == 0, f"{stdout}\n{stderr}"
        assert "code from the server terminal:" in stdout
        card, sale, paid, cert = stdout.rsplit("RESULT ", 1)[1].split()
        assert re.search(r"receipt \S+: 2000 points spent", stdout)

        with grpc.insecure_channel(target) as channel:
            admin = (("authorization", "Bearer kpk_demo_admin"),)
            purchases = members_pb2_grpc.MemberServiceStub(channel).ListPurchases(
                members_pb2.ListPurchasesRequest(card_number=card), metadata=admin,
                timeout=10).purchases
            states = {p.receipt_id: p.state for p in purchases}
            assert states[sale] == receipts_pb2.RECEIPT_STATE_CANCELLED
            assert len(states) == 2  # the cash sale and the cancelled points sale
            certificate = certificates_grpc.CertificateServiceStub(channel).GetCertificate(
                certificates_pb2.GetCertificateRequest(number=cert), metadata=admin,
                timeout=10)
            kinds = [(e.kind, e.receipt_id) for e in certificate.entries]
            assert ("redeem", paid) in kinds and ("refund", paid) in kinds, kinds
            assert 0 < certificate.certificate.balance.amount_minor < 50000
        [mailing] = _mailings(target).mailings
        assert mailing.state == mailings_pb2.MAILING_STATE_DELIVERED
        assert sms[1] not in mailing.body and "******" in mailing.body

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        log = output.text()
        assert "XDG_RUNTIME_DIR" not in log and "RuntimeDirWarning" not in log
        assert "Traceback" not in log
    finally:
        for process in (shell, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_taken_port_is_said_in_one_line(tmp_path) -> None:
    """A second `kopilka serve` on the same port: one line naming it, exit 1, nothing
    started (no embedded PostgreSQL, no traceback)."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if k != "KOPILKA_DATABASE_URL"}
        env.update(KOPILKA_DATA_DIR=str(tmp_path), KOPILKA_GRPC_LISTEN=taken,
                   KOPILKA_METRICS_LISTEN="127.0.0.1:0")
        done = subprocess.run([KOPILKA, "serve", "--demo-data"], env=env, capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"kopilka: cannot listen on {taken} (KOPILKA_GRPC_LISTEN): the port is taken"]
    assert not (tmp_path / "pg").exists()


def test_the_dev_sms_channel_refuses_to_start_outside_demo_mode(tmp_path) -> None:
    """Configured without demo mode and without KOPILKA_DEV_SMS: the server does not start."""
    env = {k: v for k, v in os.environ.items() if k != "KOPILKA_DATABASE_URL"}
    env.update(KOPILKA_DATA_DIR=str(tmp_path), KOPILKA_GRPC_LISTEN=f"127.0.0.1:{idle_port()}",
               KOPILKA_METRICS_LISTEN="127.0.0.1:0", KOPILKA_PLUGIN_SETTINGS='{"devsms": {}}')
    done = subprocess.run([KOPILKA, "serve"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("kopilka: bad plugin configuration: devsms") and \
        "KOPILKA_DEV_SMS=1" in line
